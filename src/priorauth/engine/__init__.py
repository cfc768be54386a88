"""The pure decision engine: no I/O, no clock, no globals. The request date is an input."""
