package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"gptaccess/delivery"
	"gptaccess/storetest"
)

func TestDeliveryStore(t *testing.T) {
	storetest.Delivery(t, func(t *testing.T) delivery.Store { return openMem(t) })
}

// TestDeliveryStoreOnFile runs the suite on a WAL file, as the bot runs:
// :memory: has one connection, a file several.
func TestDeliveryStoreOnFile(t *testing.T) {
	storetest.Delivery(t, func(t *testing.T) delivery.Store {
		db, err := Open(context.Background(), filepath.Join(t.TempDir(), "bot.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
