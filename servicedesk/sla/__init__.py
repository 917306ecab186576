"""SLA clocks in business time: calendars, policies, clocks and the sweep.

``calendar`` is the pure business-time arithmetic every other module builds on.
"""
