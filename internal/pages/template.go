package pages

// builtinTemplate is every page: a banner with the brand when there is one, and the
// page in a card. Landmarks (header, main labelled by its heading), lang, a viewport
// for phones; the form's hidden field needs no label, its button and the link say
// what they do.
const builtinTemplate = `<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">
{{end}}<title>{{.Title}}</title>
<style>{{.Style}}</style>
</head>
<body>
<div class="page">
{{if or .Brand .LogoURL}}<header class="brand">{{if .LogoURL}}<img src="{{.LogoURL}}" alt="" height="40">{{end}}{{if .Brand}}<span>{{.Brand}}</span>{{end}}</header>
{{end}}<main class="card" aria-labelledby="heading">
{{if .StatusLine}}<p class="status">{{.StatusLine}}</p>
{{end}}<h1 id="heading">{{.Heading}}</h1>
{{if .User}}<p>You are signed in as <strong>{{.User}}</strong>.</p>
{{end}}{{range .Paragraphs}}<p>{{.}}</p>
{{end}}{{if .Lines}}<h2>Details</h2>
<ul class="details">{{range .Lines}}<li>{{.}}</li>{{end}}</ul>
{{end}}{{if .FormAction}}<form method="post" action="{{.FormAction}}"><input type="hidden" name="{{.FormField}}" value="{{.FormToken}}"><button type="submit" id="signout" class="button">{{.FormButton}}</button></form>
{{end}}{{if .Choices}}<ul class="choices" aria-label="Sign-in options">{{range .Choices}}<li><a class="button" href="{{.Href}}">{{.Label}}</a></li>{{end}}</ul>
{{end}}{{if .LinkHref}}<p class="actions"><a id="continue" class="button" href="{{.LinkHref}}">{{.LinkText}}</a></p>
{{end}}</main>
</div>
</body>
</html>
`

// stylesheet is the pages' style with the accent colour (validated by CheckAccent).
// Colours meet WCAG 2.1 AA on their backgrounds: text #1f2328 on white 15.8:1, muted
// #4b5563 on white 7.6:1, the accent on white at least 4.5:1 (links, the focus ring,
// white button text). Focus is always visible (a 3px ring); nothing is wider than a
// 320px screen; no fonts, images or other requests.
func stylesheet(accent string) string {
	return `:root{color-scheme:light;--accent:` + accent + `}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;min-height:100vh;background:#f3f4f6;color:#1f2328;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{display:flex;flex-direction:column;align-items:center;justify-content:center;min-height:100vh;padding:1.5rem 1rem}
.brand{display:flex;align-items:center;gap:.75rem;margin:0 0 1.25rem;font-weight:600;font-size:1.125rem;max-width:100%}
.brand img{height:40px;width:auto;max-width:12rem;object-fit:contain}
.brand span{overflow-wrap:break-word;min-width:0}
.card{width:100%;max-width:34rem;background:#fff;border:1px solid #d1d5db;border-radius:.75rem;padding:2rem 1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}
h2{font-size:1rem;margin:1.5rem 0 .5rem}
p{margin:0 0 1rem}
.status{color:#4b5563;font-size:.875rem;font-weight:600;letter-spacing:.02em;text-transform:uppercase;margin:0 0 .25rem}
strong,li,p{overflow-wrap:anywhere}
.details{margin:0 0 1rem;padding-left:1.25rem}
a{color:var(--accent);text-underline-offset:.15em}
.button{display:inline-block;min-height:2.75rem;padding:.625rem 1.25rem;border:0;border-radius:.5rem;background:var(--accent);color:#fff;font:inherit;font-weight:600;line-height:1.5rem;text-decoration:none;cursor:pointer}
.button:hover{filter:brightness(.9)}
a:focus-visible,.button:focus-visible{outline:3px solid var(--accent);outline-offset:3px}
form,.actions{margin:1.5rem 0 0}
.choices{list-style:none;margin:1.5rem 0 0;padding:0;display:flex;flex-direction:column;gap:.75rem}
.choices .button{display:block;text-align:center}
@media (min-width:40rem){.card{padding:2.5rem 2.5rem 2rem}h1{font-size:1.75rem}}
@media (forced-colors:active){.button{border:2px solid ButtonText}}
`
}
