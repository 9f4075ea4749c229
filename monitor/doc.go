// Package monitor checks on a cron schedule whether ChatGPT is reachable from
// here, classifies every result, keeps per-target alert state and tells the
// team through Outboxers (the chat platforms, whose notices are outbox items
// saved with the alert state) and Notifiers (the terminal).
package monitor
