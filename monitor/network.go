package monitor

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Resolver looks up host names; *net.Resolver implements it. The monitor
// resolves names itself, rather than leaving it to the dialer, to see
// what a DNS filter answers.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Dialer opens connections to resolved addresses; *net.Dialer implements
// it.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// nameError says that a host name did not resolve to an address we can
// use: the resolver's error, or an answer of sinkhole addresses only.
type nameError struct {
	host     string
	sinkhole []net.IP // the answer, when it held only sinkhole addresses
	err      error    // the resolver's error otherwise (a *net.DNSError)
}

func (e *nameError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("lookup %s: only sinkhole addresses (%s)", e.host, joinIPs(e.sinkhole))
}

func (e *nameError) Unwrap() error { return e.err }

// notFound reports whether DNS said the name does not exist (NXDOMAIN, or
// no address of any kind), as opposed to failing (SERVFAIL, a timeout).
func (e *nameError) notFound() bool {
	var d *net.DNSError
	return errors.As(e.err, &d) && d.IsNotFound
}

// isSinkhole reports whether ip is an address that DNS filters answer
// with instead of the real one: 0.0.0.0, ::, 127.0.0.0/8 or ::1. For
// "localhost" and names under it a loopback answer is the right one (RFC
// 6761), not a sinkhole.
func isSinkhole(host string, ip net.IP) bool {
	if ip.IsUnspecified() {
		return true
	}
	return ip.IsLoopback() && !isLocalhost(host)
}

func isLocalhost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// usable splits an answer into the addresses to dial and, when there are
// none, the sinkhole addresses it held.
func usable(host string, addrs []net.IPAddr) (ok []net.IP, sinkhole []net.IP) {
	for _, a := range addrs {
		if isSinkhole(host, a.IP) {
			sinkhole = append(sinkhole, a.IP)
			continue
		}
		ok = append(ok, a.IP)
	}
	return ok, sinkhole
}

// resolve looks host up; the error is a *nameError.
func (m *Monitor) resolve(ctx context.Context, host string) ([]net.IP, error) {
	addrs, err := m.resolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, &nameError{host: host, err: err}
	}
	ok, sink := usable(host, addrs)
	if len(ok) == 0 {
		if len(sink) == 0 {
			// An empty answer without an error: no such host.
			return nil, &nameError{host: host, err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
		}
		return nil, &nameError{host: host, sinkhole: sink}
	}
	return ok, nil
}

// dial is the HTTP transport's DialContext: it resolves names through the
// monitor's resolver, refuses sinkhole answers, and tries the addresses in
// turn, IPv4 first, each with a share of the time left (as net.Dialer
// does), so that one address that swallows packets cannot use it all up.
func (m *Monitor) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if net.ParseIP(host) != nil {
		return m.dialer.DialContext(ctx, network, address)
	}
	ips, err := m.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	v6 := func(ip net.IP) int {
		if ip.To4() != nil {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(ips, func(a, b net.IP) int { return cmp.Compare(v6(a), v6(b)) })
	deadline, hasDeadline := ctx.Deadline()
	if d, ok := ctx.Value(dialDeadline{}).(time.Time); ok && (!hasDeadline || d.Before(deadline)) {
		deadline, hasDeadline = d, true
	}
	var first error
	for i, ip := range ips {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if hasDeadline && i < len(ips)-1 {
			share := time.Until(deadline) / time.Duration(len(ips)-i)
			actx, cancel = context.WithTimeout(ctx, max(share, 2*time.Second))
		}
		conn, err := m.dialer.DialContext(actx, network, net.JoinHostPort(ip.String(), port))
		cancel()
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// dialDeadline is the context key of the probe's deadline. net/http dials
// with a context detached from the request's deadline (a connection may
// outlive its request) but keeps its values; dial needs the deadline to
// share it among addresses.
type dialDeadline struct{}

// withDialDeadline records ctx's deadline for dial.
func withDialDeadline(ctx context.Context) context.Context {
	if d, ok := ctx.Deadline(); ok {
		return context.WithValue(ctx, dialDeadline{}, d)
	}
	return ctx
}

// proxyRefusal is a web proxy's non-200 answer to CONNECT: the proxy, not
// the site, refused (or could not reach it).
type proxyRefusal struct {
	status int
	filter string // the product, when its headers name it
}

func (e *proxyRefusal) Error() string {
	return fmt.Sprintf("proxy answered CONNECT with HTTP %d", e.status)
}

// onProxyConnect keeps the status of a refused CONNECT, which net/http
// would otherwise turn into an error holding only the reason phrase.
func onProxyConnect(_ context.Context, _ *url.URL, _ *http.Request, res *http.Response) error {
	if res.StatusCode == http.StatusOK {
		return nil
	}
	pr := &proxyRefusal{status: res.StatusCode}
	for _, f := range []struct{ header, sub, name string }{
		{"Server", "zscaler", "Zscaler"},
		{"Server", "squid", "Squid"},
		{"Via", "squid", "Squid"},
	} {
		if strings.Contains(strings.ToLower(res.Header.Get(f.header)), f.sub) {
			pr.filter = f.name
			break
		}
	}
	return pr
}

// certTrouble says why a certificate was refused when that points at
// something intercepting TLS on our network: an unknown authority (a
// proxy's own CA that this machine does not trust) or a certificate for
// other names. ok is false for any other TLS failure.
func certTrouble(err error, host string) (what string, ok bool) {
	var (
		unknown x509.UnknownAuthorityError
		name    x509.HostnameError
	)
	switch {
	case errors.As(err, &unknown):
		what = "the certificate for " + host + " is from an unknown authority"
		if c := unknown.Cert; c != nil {
			issuer := c.Issuer.CommonName
			if issuer == "" && len(c.Issuer.Organization) > 0 {
				issuer = c.Issuer.Organization[0]
			}
			if n := printable(issuer); n != "" {
				what += ", issued by “" + n + "”"
			}
		}
		return what, true
	case errors.As(err, &name):
		what = "the certificate presented for " + host + " is for another name"
		if c := name.Certificate; c != nil {
			n := c.Subject.CommonName
			if len(c.DNSNames) > 0 {
				n = c.DNSNames[0]
			}
			if n := printable(n); n != "" {
				what += " (" + n + ")"
			}
		}
		return what, true
	}
	return "", false
}

// printable is a name from a certificate fit for chat: printable, short,
// and never an IP address; "" otherwise.
func printable(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || net.ParseIP(s) != nil || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return ""
	}
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return s
}

func joinIPs(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ", ")
}
