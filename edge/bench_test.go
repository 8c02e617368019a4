package edge

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// A small GET on a kept-alive connection, straight to the app and through
// the edge: the difference is what the edge adds to every request.
func BenchmarkGet(b *testing.B) {
	up := app(b, "ok", nil)
	for _, bc := range []struct{ name, addr string }{
		{"direct", up},
		{"edge", front(b, NewProxy(up, "", slog.New(slog.DiscardHandler)))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			url := "http://" + bc.addr + "/health"
			for b.Loop() {
				res, err := c.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
}
