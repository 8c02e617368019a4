package cache

import (
	"encoding/json"
	"net/http"
)

// FlushHandler serves an app's POST /caches/flush-all: it empties conn's
// Redis (see Flush) and answers {"success": true}. The client's "Clear
// cache" button and its version-mismatch logic call it. With caching
// disabled there is nothing to flush, which is a success too; with Redis
// unavailable it answers 503.
func FlushHandler(conn *Conn) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"success": false, "error": "method not allowed"})
			return
		}
		if err := conn.Flush(r.Context()); err != nil {
			conn.logger.Error("flush caches", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false, "error": "redis unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
