{# runner.py of Taskiq on RabbitMQ: the broker, its errors, and the jobs waiting on it. #}
BROKER_ERRORS = (SendTaskError, AMQPError, ChannelInvalidStateError, OSError, TimeoutError)
# Jobs a worker takes from RabbitMQ ahead of running them.
PREFETCH = 10
JobBroker = AioPikaBroker


def create_broker(settings: Settings, timeout: float | None) -> JobBroker:
    """The queue `<NAMESPACE>:{{ queue_key }}` on BROKER_URL; its exchange and dead-letter queue are
    named after it."""
    queue = queue_name(settings)
    return AioPikaBroker(
        settings.broker_url,
        exchange=Exchange(name=queue),
        task_queues=[Queue(name=queue)],
        dead_letter_queue=Queue(name=f"{queue}.dead_letter"),
        qos=PREFETCH,
        timeout=timeout,
    )


async def waiting(broker: JobBroker, queue: str) -> int:
    """The messages ready on the queue, asked without declaring it."""
    channel = broker.write_channel
    if channel is None:
        raise ChannelInvalidStateError("not connected")
    # AMQP's own reply: aio-pika answers a queue this channel declared from what it declared.
    declared = await (await channel.get_underlay_channel()).queue_declare(queue, passive=True)
    return declared.message_count or 0
