package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// pages serves the embedded pages: the player page at /, the host console,
// the projected scoreboard and the organizer page, and their assets. The
// security headers are set for all of them by secure.
func (s *Server) pages(m *http.ServeMux) {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed is part of the binary
	}
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := fs.ReadFile(sub, name)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(b)
		}
	}
	m.HandleFunc("GET /{$}", page("player.html"))
	m.HandleFunc("GET /host", page("host.html"))
	m.HandleFunc("GET /screen", page("screen.html"))
	m.HandleFunc("GET /admin", page("admin.html"))
	m.HandleFunc("GET /org", page("org.html"))
	m.HandleFunc("GET /board", page("board.html"))
	m.HandleFunc("GET /bracket", page("bracket.html"))
	m.HandleFunc("GET /tournament", page("tournament.html"))
	m.HandleFunc("GET /tournaments", page("tournaments.html"))
	files := http.FileServerFS(sub)
	m.HandleFunc("GET /static/{path...}", func(w http.ResponseWriter, r *http.Request) {
		// Files only: a directory is not listed.
		name := r.PathValue("path")
		if fi, err := fs.Stat(sub, name); err != nil || fi.IsDir() || strings.HasSuffix(name, "/") {
			http.NotFound(w, r)
			return
		}
		http.StripPrefix("/static", files).ServeHTTP(w, r)
	})
	// Browsers ask for /favicon.ico on pages that name no icon.
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(sub, "favicon.png")
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		_, _ = w.Write(b)
	})
}
