package bot

// RedactIPs exposes redactIPs to the external tests.
var RedactIPs = redactIPs
