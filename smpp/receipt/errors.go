package receipt

import "errors"

// ErrNotReceipt reports a message that carries neither receipt text nor
// receipt TLVs.
var ErrNotReceipt = errors.New("receipt: no receipt fields in the message")
