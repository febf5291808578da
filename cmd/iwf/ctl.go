package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ctlUsage is the help of "iwf ctl".
const ctlUsage = `usage: iwf ctl [-addr URL] [-token TOKEN] COMMAND

Speaks to a running iwf's status endpoint (the admin API, status.admin_token).

commands:
  status              the node's /status snapshot (JSON)
  sessions            the live MSRP sessions (SIP calls)
  end ID              end a session (BYE) by Call-ID or MSRP session id
  suspend PARTNER     refuse the partner's new traffic (temporary errors)
  resume PARTNER      take its traffic again
  unbind PARTNER      unbind our SMPP client binds to its SMSC; they stay down
  rebind PARTNER      let them bind again
  drain               stop taking new work (as SIGTERM, without the exit)

flags:
`

// ctlTimeout bounds one request; an unbind waits for the SMSC's answer.
const ctlTimeout = 30 * time.Second

// ctlMain runs "iwf ctl" with args (after "ctl") and returns the exit
// status: 0 done, 1 refused or failed, 2 a usage error.
func ctlMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("iwf ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, ctlUsage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "http://127.0.0.1:8080", "the status endpoint's base URL")
	token := fs.String("token", os.Getenv("IWF_ADMIN_TOKEN"), "the admin token (status.admin_token); default $IWF_ADMIN_TOKEN")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	method, path, err := ctlRequest(fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "iwf ctl:", err)
		fs.Usage()
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(*addr, "/")+path, nil)
	if err != nil {
		fmt.Fprintln(stderr, "iwf ctl:", err)
		return 2
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "iwf ctl:", err)
		return 1
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		fmt.Fprintln(stderr, "iwf ctl:", err)
		return 1
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") == nil {
		body = append(bytes.TrimRight(pretty.Bytes(), "\n"), '\n')
	}
	if res.StatusCode/100 != 2 {
		fmt.Fprintf(stderr, "iwf ctl: %s %s: %s\n%s", method, path, res.Status, body)
		if res.StatusCode == http.StatusNotFound && strings.Contains(string(body), "404 page not found") {
			fmt.Fprintln(stderr, "iwf ctl: is status.admin_token set on that node?")
		}
		return 1
	}
	_, _ = stdout.Write(body)
	return 0
}

// ctlRequest maps a command to its method and path.
func ctlRequest(args []string) (method, path string, err error) {
	if len(args) == 0 {
		return "", "", fmt.Errorf("no command")
	}
	cmd, rest := args[0], args[1:]
	one := func() (string, error) {
		if len(rest) != 1 || rest[0] == "" {
			return "", fmt.Errorf("%s takes one argument", cmd)
		}
		return url.PathEscape(rest[0]), nil
	}
	none := func() error {
		if len(rest) != 0 {
			return fmt.Errorf("%s takes no argument", cmd)
		}
		return nil
	}
	switch cmd {
	case "status", "sessions":
		return http.MethodGet, "/admin/" + cmd, none()
	case "drain":
		return http.MethodPost, "/admin/drain", none()
	case "end":
		id, err := one()
		return http.MethodPost, "/admin/sessions/" + id + "/end", err
	case "suspend", "resume", "unbind", "rebind":
		p, err := one()
		return http.MethodPost, "/admin/partners/" + p + "/" + cmd, err
	}
	return "", "", fmt.Errorf("unknown command %q", cmd)
}
