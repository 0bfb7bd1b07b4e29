"""Durable jobs (procrastinate, PostgreSQL-backed, on the ledger): the adapter layer through
which time-based work runs — SLA timers, reminders, scheduled rule evaluation, lifecycle
checks. Like `resolvers/` it only binds: each task reads its dependencies from the process's
runtime (`jobs.runtime.current()`) and calls one use case in `services/`. Services never
import this package; they defer a job with `uow.defer("<domain>:<task>", {...})` inside their
own transaction."""
