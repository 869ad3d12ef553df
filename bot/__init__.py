"""Plumbing of 红盟助手: message types, dispatcher, NLU, scheduler, outbox, adapters."""
