"""In-app notices (the bell) and outgoing e-mail through an outbox."""
