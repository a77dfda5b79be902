
    # Whether a request's own `traceparent` may parent its span: trusted, any client can choose
    # which requests are sampled. Only behind a gateway that sets or strips the header.
    trust_trace_context: bool = False
