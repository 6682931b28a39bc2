package demo

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's Chromium (make test installs it when missing).
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("Chromium is not installed: run make test (it installs Debian's chromium), or set CHROMIUM")
	return ""
}

// TestRealBrowserSignsInThroughTheDemoStack drives headless Chromium through the demo
// stack (the plugin under Yaegi, the test provider's login form, the demo backend):
// sign in as alice with her password, see the identity the backend received, sign out.
func TestRealBrowserSignsInThroughTheDemoStack(t *testing.T) {
	ctx := newChrome(t, chromiumPath(t))
	s := demoStack(t)
	err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"app"))
	if err == nil {
		err = signInWithPassword(ctx)
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("who")))
	}
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("who")))
	if err != nil {
		t.Fatal(err)
	}
	table, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(who, "alice@example.com") {
		t.Fatalf("backend greeted %q", who)
	}
	for _, want := range []string{"X-Forwarded-Email", "alice@example.com", "engineering,admins", "Alice Example"} {
		if !strings.Contains(table, want) {
			t.Fatalf("backend did not receive %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "_gatehouse") {
		t.Fatalf("the session cookie reached the backend:\n%s", table)
	}
}
