    # Where jobs are published: RabbitMQ.
    celery_broker_url: str = "amqp://guest:guest@localhost:5672//"
