{# tests/leftovers.py on RabbitMQ, for Taskiq: its imports, and the end of remove_leftovers. #}
{% macro imports() %}
import asyncio

import aio_pika
{% endmacro %}
{% macro remove() %}
    asyncio.run(_remove_from_rabbitmq(settings))


async def _remove_from_rabbitmq(settings: Settings) -> None:
    queue = queue_name(settings)
    async with await aio_pika.connect(settings.{{ broker_url_setting }}) as connection:
        channel = await connection.channel()
        # The job queue, its dead-letter queue and its exchange.
        for name in (queue, f"{queue}.dead_letter"):
            await channel.queue_delete(name)
        await channel.exchange_delete(queue)
{% if events_broker == 'rabbitmq' %}
        # Live events' exchange (events.py); each API process's queue went with its connection.
        await channel.exchange_delete(exchange_name(settings))
{% endif %}
{% endmacro %}
