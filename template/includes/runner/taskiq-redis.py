{# runner.py of Taskiq on Redis: the broker, its errors, and the jobs waiting on it. #}
BROKER_ERRORS = (SendTaskError, RedisError, OSError, TimeoutError)
# How long a worker blocks on the stream before it looks for abandoned jobs again.
READ_BLOCK_MILLISECONDS = 2000

# What XREADGROUP and XAUTOCLAIM answer: messages by id, each with its fields.
Messages = list[tuple[bytes, dict[bytes, bytes]]]
Read = list[tuple[bytes, Messages]] | None
Claimed = tuple[bytes, Messages, list[bytes]]


class JobBroker(RedisStreamBroker):
    """taskiq-redis' stream broker, as this app relies on it: a worker reads the stream from its
    start (jobs sent before any worker ran are not skipped), deletes a job's message once it is
    acknowledged (the stream holds the jobs waiting or running, and nothing more), and claims
    the jobs of a dead worker back after every read, not only after a read that found new ones.
    """

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            while True:
                # redis-py types the replies of both protocol versions alike.
                read = cast(
                    Read,
                    await redis.xreadgroup(
                        self.consumer_group_name,
                        self.consumer_name,
                        {self.queue_name: ">"},
                        block=self.block,
                        count=self.count,
                    ),
                )
                for _stream, messages in read or []:
                    for message_id, fields in messages:
                        yield self._ackable(message_id, fields)
                # Left unacknowledged for longer than a job may run: its worker died.
                claimed = cast(
                    Claimed,
                    await redis.xautoclaim(
                        self.queue_name,
                        self.consumer_group_name,
                        self.consumer_name,
                        min_idle_time=self.idle_timeout,
                        count=self.unacknowledged_batch_size,
                    ),
                )
                for message_id, fields in claimed[1]:
                    yield self._ackable(message_id, fields)

    def _ackable(self, message_id: bytes, fields: dict[bytes, bytes]) -> AckableMessage:
        async def ack() -> None:
            async with Redis(connection_pool=self.connection_pool) as redis:
                acknowledge = redis.pipeline()
                acknowledge.xack(self.queue_name, self.consumer_group_name, message_id)
                acknowledge.xdel(self.queue_name, message_id)
                await acknowledge.execute()

        return AckableMessage(data=fields[b"data"], ack=ack)


def create_broker(settings: Settings, timeout: float | None) -> JobBroker:
    """The stream `<NAMESPACE>:{{ queue_key }}` on REDIS_URL, its consumer group named alike."""
    return JobBroker(
        settings.redis_url,
        queue_name=queue_name(settings),
        consumer_group_name=queue_name(settings),
        consumer_id="0",
        xread_block=READ_BLOCK_MILLISECONDS,
        idle_timeout=int((settings.job_timeout_seconds + 10) * 1000),
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
    )


async def waiting(broker: JobBroker, queue: str) -> int:
    """The jobs on the stream, waiting or running."""
    async with Redis(connection_pool=broker.connection_pool) as redis:
        return await redis.xlen(queue)
