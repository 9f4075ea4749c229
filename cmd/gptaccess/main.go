// Command gptaccess is a Slack and Discord bot that helps people past
// "ChatGPT Error 1020: Access denied" and watches whether ChatGPT is
// reachable from the team's network. With no tokens it runs in the terminal.
package main

import (
	"context"
	"fmt"
	"os"
	_ "time/tzdata" // monitor.timezone works in a scratch image without zoneinfo
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gptaccess:", err)
		os.Exit(exitCode(err))
	}
}
