package delivery_test

import (
	"testing"

	"gptaccess/delivery"
	"gptaccess/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Delivery(t, func(*testing.T) delivery.Store { return delivery.NewMemory() })
}
