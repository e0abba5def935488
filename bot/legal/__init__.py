"""Legal escalation: the case bundle handed to the agency's lawyers (`bundle`), from data gathered by
`bot.services.legal`."""
