package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"gptaccess/web"
)

// TestReadyzSaysWhetherThisReplicaLeads: /readyz reports "leader"; a
// replica that does not lead is still ready, a failing check is not.
func TestReadyzSaysWhetherThisReplicaLeads(t *testing.T) {
	for _, tc := range []struct {
		leads, dbOK bool
		code        int
	}{
		{true, true, http.StatusOK},
		{false, true, http.StatusOK},
		{false, false, http.StatusServiceUnavailable},
	} {
		h := web.Handler(web.Options{
			Ready: map[string]web.Check{"database": func(context.Context) error {
				if !tc.dbOK {
					return errors.New("write check failed")
				}
				return nil
			}},
			Leader: func() bool { return tc.leads },
		})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body struct {
			Ready  bool `json:"ready"`
			Leader bool `json:"leader"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if rec.Code != tc.code || body.Leader != tc.leads || body.Ready != (tc.code == http.StatusOK) {
			t.Errorf("leads=%v db ok=%v: %d %s", tc.leads, tc.dbOK, rec.Code, rec.Body)
		}
	}
}
