{# tests/leftovers.py on RabbitMQ, for Celery: its imports, and the end of remove_leftovers. #}
{% macro imports() %}
from kombu import Connection, Exchange, Queue
{% endmacro %}
{% macro remove() %}
    queue = queue_name(settings)
    with Connection(settings.celery_broker_url) as connection:
        channel = connection.default_channel
        Queue(queue, channel=channel).delete()
        # The task exchange, and remote control's (`celery inspect`) and events' exchanges.
        for exchange in (queue, f"{queue}.pidbox", f"reply.{queue}.pidbox", f"{queue}.events"):
            Exchange(exchange, channel=channel).delete()
{% if events_broker == 'rabbitmq' %}
        # Live events' exchange (events.py); each API process's queue went with its connection.
        Exchange(exchange_name(settings), channel=channel).delete()
{% endif %}
{% endmacro %}
