package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost"
)

// demoStack starts the demo stack (the plugin under Yaegi) for the test.
func demoStack(t *testing.T) *Stack {
	t.Helper()
	root, err := yaegihost.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(root, Options{Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// signInWithPassword fills the test provider's login form as alice.
func signInWithPassword(ctx context.Context) error {
	return chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "alice-password"),
		chromedp.Click(chromedp.CSS(`#login`)),
	)
}

// textAndLocation reads the text of #who and the page's address.
func textAndLocation(t *testing.T, ctx context.Context) (string, string) {
	t.Helper()
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("who")))
	if err != nil {
		t.Fatal(err)
	}
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return who, location
}

// TestRealBrowserFetch401LeadsToSignInAndStepUpComesBack drives headless Chromium
// through the demo stack (the plugin under Yaegi, the test provider's login form):
//
//   - a public page's fetch to an API is answered 401 (Chromium sends Sec-Fetch-Mode:
//     cors, Accept */*); the page goes to the answer's login_url, alice signs in with
//     her password, and the browser comes back to the page (its Referer), whose fetch
//     now succeeds;
//   - her sign-in is an hour old (the provider dates it back), so /admin/, which
//     needs one no older than 10 minutes, sends her back to the provider's login
//     form (prompt=login); she signs in again and lands on the page she asked for,
//     with the same provider session.
func TestRealBrowserFetch401LeadsToSignInAndStepUpComesBack(t *testing.T) {
	s := demoStack(t)
	s.Provider.SetInitialAuthAge(time.Hour)
	ctx := newChrome(t, chromiumPath(t))

	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"spa")); err != nil {
		t.Fatal(err)
	}
	if err := signInWithPassword(ctx); err != nil {
		t.Fatalf("fetch 401 to sign-in: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("who"))); err != nil {
		t.Fatalf("back at the page: %v", err)
	}
	who, location := textAndLocation(t, ctx)
	if who != "signed in as alice@example.com" || location != s.URL+"spa" {
		t.Fatalf("after the fetch's sign-in: %q at %s", who, location)
	}
	sids := s.Provider.SessionIDs("alice")

	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"admin/users")); err != nil {
		t.Fatal(err)
	}
	if err := signInWithPassword(ctx); err != nil {
		t.Fatalf("step-up: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("who"))); err != nil {
		t.Fatalf("back at the page after the step-up: %v", err)
	}
	who, location = textAndLocation(t, ctx)
	if !strings.Contains(who, "alice@example.com") || location != s.URL+"admin/users" {
		t.Fatalf("after the step-up: %q at %s", who, location)
	}
	if got := s.Provider.SessionIDs("alice"); len(got) != 1 || len(sids) != 1 || got[0] != sids[0] {
		t.Fatalf("provider sessions %v, were %v", got, sids)
	}
	auth := s.Provider.Requests("authorize")
	if last := auth[len(auth)-1].Form; last.Get("prompt") != "login" || last.Get("max_age") != "600" {
		t.Fatalf("the step-up asked for %v", last)
	}
}
