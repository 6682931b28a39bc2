package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost"
)

// widths are the viewports every page is checked and photographed at: a phone and a
// desktop.
var widths = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"phone", 375, 740, true},
	{"desktop", 1280, 720, false},
}

// pageShots are the pages photographed, in the order the test reaches them.
var pageShots = []string{"signed-out", "error", "denied", "signout"}

// layout is what the test reads from a rendered page.
type layout struct {
	ScrollWidth int    `json:"sw"`
	InnerWidth  int    `json:"iw"`
	Title       string `json:"title"`
	Heading     string `json:"h1"`
	Lang        string `json:"lang"`
	MainBG      string `json:"main"`
	BodyBG      string `json:"body"`
	Landmark    bool   `json:"landmark"`
}

const readLayout = `JSON.stringify((() => {
	const d = document.documentElement, m = document.querySelector('main'), h = document.querySelector('h1');
	return {sw: d.scrollWidth, iw: window.innerWidth, title: document.title, h1: h ? h.textContent : '', lang: d.lang,
		main: m ? getComputedStyle(m).backgroundColor : '', body: getComputedStyle(document.body).backgroundColor,
		landmark: !!(m && m.getAttribute('aria-labelledby') === 'heading')};
})())`

// TestPagesRenderAtPhoneAndDesktopWidth drives headless Chromium to each page
// Gatehouse shows (the plugin under Yaegi, the strict securityHeaders profile, the
// demo's branding) and checks, at 375 px and 1280 px, that it renders styled (its CSP
// lets the inline style through), has its title, heading, lang and main landmark,
// scrolls no wider than the screen, and that keyboard focus on the sign-out button is
// visible and works. Screenshots of each are checked for content; with
// GATEHOUSE_SCREENSHOTS=1 (make screenshots) they are written to docs/screenshots for
// the README.
func TestPagesRenderAtPhoneAndDesktopWidth(t *testing.T) {
	chrome := chromiumPath(t)
	root, err := yaegihost.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(root, Options{Host: "127.0.0.1", Configure: func(cfg map[string]any) {
		cfg["authorization"] = map[string]any{"allowedGroups": "admins"}
		cfg["securityHeaders"] = map[string]any{"profile": "strict"}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := t.TempDir()
	if os.Getenv("GATEHOUSE_SCREENSHOTS") != "" {
		out = filepath.Join(root, "docs", "screenshots")
	}
	ctx := newChrome(t, chrome)

	shoot := func(name, wantHeading string) {
		t.Helper()
		for _, w := range widths {
			opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
			if w.mobile {
				opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
			}
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(w.width, w.height, opts...)); err != nil {
				t.Fatal(err)
			}
			raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](readLayout))
			if err != nil {
				t.Fatal(err)
			}
			var l layout
			if err := json.Unmarshal([]byte(raw), &l); err != nil {
				t.Fatal(err)
			}
			what := name + " at " + w.name
			if l.Heading != wantHeading || !strings.HasPrefix(l.Title, wantHeading+" · Gatehouse demo") || l.Lang != "en" || !l.Landmark {
				t.Errorf("%s: heading %q, title %q, lang %q, landmark %v", what, l.Heading, l.Title, l.Lang, l.Landmark)
			}
			if l.InnerWidth != int(w.width) || l.ScrollWidth > l.InnerWidth {
				t.Errorf("%s: %d px of content in a %d px window (want %d, no horizontal scrolling)", what, l.ScrollWidth, l.InnerWidth, w.width)
			}
			if l.MainBG != "rgb(255, 255, 255)" || l.BodyBG != "rgb(243, 244, 246)" {
				t.Errorf("%s: unstyled (main %s, body %s): the inline style did not apply", what, l.MainBG, l.BodyBG)
			}
			shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			checkScreenshot(t, what, shot, int(w.width))
			if err := os.WriteFile(filepath.Join(out, name+"-"+w.name+".png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Signed out (no session yet), and a sign-in callback this browser never started.
	navigate(t, ctx, s.URL+"oauth2/logout")
	shoot("signed-out", "Signed out")
	navigate(t, ctx, s.URL+"oauth2/callback?state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&code=x")
	shoot("error", "Sign-in failed")

	// bob signs in at the provider's form; the route lets only admins in.
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"app"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "bob-password"),
		chromedp.Click(chromedp.CSS(`#login`)),
		chromedp.WaitVisible(chromedp.ID("heading")),
	)
	if err != nil {
		t.Fatalf("signing in: %v", err)
	}
	shoot("denied", "Access denied")

	// The denied page's link leads to the sign-out confirmation.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("continue")), chromedp.WaitVisible(chromedp.ID("signout"))); err != nil {
		t.Fatalf("following the sign-out link: %v", err)
	}
	shoot("signout", "Sign out?")

	// Keyboard: Tab reaches the button, its focus ring shows, Enter signs out.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	focus, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.activeElement, c = getComputedStyle(e);
		return e.id + ' ' + c.outlineStyle + ' ' + c.outlineWidth; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if focus != "signout solid 3px" {
		t.Fatalf("after Tab, focus is %q; want the sign-out button with a visible 3px ring", focus)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
		if err == nil && !strings.HasPrefix(loc, s.URL+"oauth2/logout") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Enter on the focused sign-out button did not sign out (still at %s)", loc)
		}
		if err := chromedp.Do(ctx, chromedp.Sleep(100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}

	// The README shows the committed screenshots: each must exist.
	for _, name := range pageShots {
		for _, w := range widths {
			if _, err := os.Stat(filepath.Join(root, "docs", "screenshots", name+"-"+w.name+".png")); err != nil {
				t.Errorf("docs/screenshots lacks %s-%s.png: run make screenshots", name, w.name)
			}
		}
	}
}

// checkScreenshot checks that a PNG screenshot is as wide as the window and shows
// more than a blank page: the background, the card and text (anti-aliasing gives
// many colours).
func checkScreenshot(t *testing.T, what string, shot []byte, width int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("%s: screenshot is not a PNG: %v", what, err)
	}
	b := img.Bounds()
	if b.Dx() != width || b.Dy() < 200 {
		t.Errorf("%s: screenshot is %dx%d", what, b.Dx(), b.Dy())
	}
	colours := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			colours[packed(img, x, y)] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("%s: screenshot has %d colours: blank?", what, len(colours))
	}
}

func packed(img image.Image, x, y int) uint32 {
	r, g, b, _ := img.At(x, y).RGBA()
	return r>>8<<16 | g>>8<<8 | b>>8
}

// newChrome starts headless Chromium (Debian's, chromiumPath) for the test, stopped
// when it ends, with a 90 s budget.
func newChrome(t *testing.T, chrome string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func navigate(t *testing.T, ctx context.Context, u string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("heading"))); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}
