"""The helpers of the tests and the bench, written once (imported as ``tests.support.*``).

Services and processes
    services    real Kafka, Redis, Prometheus, Alertmanager for the session; OwnService
    netfault    a TCP proxy between a worker and a server that can lose a reply
    worker      a ``ccmon worker`` process with the suite's defaults, its /metrics as samples
    topology    a test's topics, CCMON_TOPIC_* settings, workers, Prometheus, Alertmanager
    cli         the ``ccmon`` command as a child process
Kafka and numbers
    kafka_io    topics, the paced sender, the read-to-end consumer, read-back
    expect      waiting (poll, wait_until_equal) and reading samples
    golden      the independent recount of the golden files; the golden worker settings
Traffic
    traffic     contact-centre lifecycles carrying the personal-data marker
    resends     exact re-sends of events (what ccmon must call duplicates)
    joining     two workers, the second joining mid-stream, with re-sends: duplicates vs replays
    rediscluster a local Redis Cluster seen from its nodes: primaries, replicas, pids
    simulation  simulator queues of the Erlang tests
    poison      malformed payloads at volume
Alerting
    prometheus  the fast rules variant, the Prometheus configuration, API clients
    alerting    the alerting scenario's webhook sink, Alertmanager copy and events
    alerting_scenario  the staffing-collapse scenario of tests/e2e/test_alerting.py
    grafana     Grafana's wall screen evaluated in Python from a live Prometheus
Other
    personal    personal data must never leave a worker: the marker and the watch
    certs, deploy, kube, wall, paths
"""
