// The runtime matrix's scenario for Go's net/http (standard library only), trusting Purser's CA
// through SSL_CERT_FILE (`purser ca env`).
//
// usage: go run agent.go HTTP_BASE HTTPS_BASE   (proxy URL in HTTPS_PROXY)
// Prints one JSON line per step with what the client received.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"
	"time"
)

var jsonBody = []byte(`{"task":"summarise","items":[1,2,3],"note":"paid retry must carry me"}`)

// 1,000,000 bytes: under the testnet's 1 MiB body limit.
var bigBody = bytes.Repeat([]byte("0123456789"), 100000)

type step struct {
	name, method, url string
	body              []byte
	contentType       string
}

// The same list in every agent script.
func steps(httpBase, httpsBase string) []step {
	return []step{
		{"http_get", "GET", httpBase + "/weather", nil, ""},
		{"https_get", "GET", httpsBase + "/weather", nil, ""},
		{"post_json", "POST", httpsBase + "/echo", jsonBody, "application/json"},
		{"post_1mb", "POST", httpsBase + "/echo", bigBody, "application/octet-stream"},
		{"stream", "GET", httpsBase + "/stream", nil, ""},
		{"after_stream", "GET", httpsBase + "/weather", nil, ""},
		{"free", "GET", httpsBase + "/free", nil, ""},
		{"declined", "GET", httpsBase + "/premium", nil, ""},
	}
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func run(client *http.Client, s step) map[string]any {
	var body io.Reader
	if s.body != nil {
		body = bytes.NewReader(s.body) // a *bytes.Reader lets the transport resend it if it must
	}
	req, err := http.NewRequest(s.method, s.url, body)
	if err != nil {
		return map[string]any{"step": s.name, "error": err.Error()}
	}
	if s.contentType != "" {
		req.Header.Set("Content-Type", s.contentType)
	}
	conn := ""
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		_, port, _ := net.SplitHostPort(info.Conn.LocalAddr().String())
		conn = port
	}}
	resp, err := client.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err != nil {
		return map[string]any{"step": s.name, "error": err.Error()}
	}
	defer resp.Body.Close()
	var got []byte
	chunks := 0
	buf := make([]byte, 64*1024)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			got = append(got, buf[:n]...)
			chunks++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return map[string]any{"step": s.name, "error": err.Error()}
		}
	}
	events := 0
	for _, l := range strings.Split(string(got), "\n") {
		if strings.HasPrefix(l, "data:") {
			events++
		}
	}
	line := map[string]any{
		"step": s.name, "status": resp.StatusCode,
		"decision": resp.Header.Get("Purser-Decision"), "paid": resp.Header.Get("Purser-Paid"),
		"length": len(got), "sha256": sum(got), "events": events, "chunks": chunks, "conn": conn,
	}
	if s.body != nil {
		line["sent_length"] = len(s.body)
		line["sent_sha256"] = sum(s.body)
	}
	return line
}

func main() {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// ProxyFromEnvironment never proxies "localhost" or a loopback IP, whatever NO_PROXY says, and
	// the testnet's merchants live there. Another name for 127.0.0.1 does not help: "localhost."
	// does not resolve through glibc, and the merchants' certificate names only localhost and
	// 127.0.0.1, so the proxy's upstream TLS check would refuse "127.1" or "0.0.0.0" (names Go
	// would proxy). So the proxy URL comes from the same variable but is set explicitly; for
	// remote APIs the default transport reading HTTPS_PROXY is enough.
	proxy, err := url.Parse(os.Getenv("HTTPS_PROXY"))
	if err != nil || proxy.Host == "" {
		fmt.Fprintln(os.Stderr, "HTTPS_PROXY must hold the proxy URL")
		os.Exit(2)
	}
	transport.Proxy = http.ProxyURL(proxy)
	client := &http.Client{Transport: transport, Timeout: 60 * time.Second}
	out := json.NewEncoder(os.Stdout)
	for _, s := range steps(os.Args[1], os.Args[2]) {
		if err := out.Encode(run(client, s)); err != nil {
			os.Exit(1)
		}
	}
}
