

def trace_celery_jobs() -> None:
    """Publishing and running a job become spans of one trace: the trace context travels in
    the message's headers. Celery's signals are global, so once per process."""
    if _tracer is None:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
