"""The operator's wing: what runs beside the three services rather than inside them.

``cli`` (the ``safeguard`` command), ``runner`` (``safeguard up``: nats-server and the services
as processes), ``status``, ``demo``, ``audit`` (replay and verify a case's record), ``rebuild``
(review rebuilt from the streams), ``replay`` (referral's assessments run again), and
``intake_client`` (a school's offline queue of disclosures). Each is a client of the services'
applications, stores or streams; no service imports anything from here.
"""
