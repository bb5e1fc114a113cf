package web

import "net/http"

// contentPolicy is the Content-Security-Policy of every response. Scripts,
// styles and sockets come from the page's own origin only ('self' covers
// ws: and wss: to the same host), no other site may frame a page, and
// nothing may be posted elsewhere.
const contentPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// secure sets the security headers on every response before h writes it,
// the pages, their assets, the API and errors alike. Pages carry tokens in
// their URLs (/admin?token=…), so no Referer may take them to another site.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentPolicy)
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}
