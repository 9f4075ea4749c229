package bot

// RedactIPs exposes redactIPs to the external tests.
var RedactIPs = redactIPs

// Command exposes command to the external tests.
var Command = command
