package auth

// Version is Gatehouse's release, as its tag names it (Traefik's plugin catalog
// installs a plugin by tag: `version: v0.1.0` in the static configuration). It is
// reported by health.path and as gatehouse_build_info's version label; the README's
// installation example names the same tag (a test keeps them in step).
const Version = "v0.1.0"
