// Package monitor checks on a cron schedule whether ChatGPT is reachable from
// here, classifies every result, keeps per-target alert state and tells the
// team through Notifiers.
package monitor
