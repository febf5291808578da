package rp

import "fmt"

// Cause is an RP-Cause value (TS 24.011 8.2.5.4, table 8.4), seven bits.
type Cause uint8

// The cause values of table 8.4: part 1 (mobile originating transfer),
// part 2 (mobile terminating transfer) and part 3 (memory available
// notification). Annex E describes each.
const (
	CauseUnassignedNumber                Cause = 1
	CauseOperatorDeterminedBarring       Cause = 8
	CauseCallBarred                      Cause = 10
	CauseReserved                        Cause = 11
	CauseShortMessageTransferRejected    Cause = 21
	CauseMemoryCapacityExceeded          Cause = 22
	CauseDestinationOutOfOrder           Cause = 27
	CauseUnidentifiedSubscriber          Cause = 28
	CauseFacilityRejected                Cause = 29
	CauseUnknownSubscriber               Cause = 30
	CauseNetworkOutOfOrder               Cause = 38
	CauseTemporaryFailure                Cause = 41
	CauseCongestion                      Cause = 42
	CauseResourcesUnavailable            Cause = 47
	CauseRequestedFacilityNotSubscribed  Cause = 50
	CauseRequestedFacilityNotImplemented Cause = 69
	CauseInvalidShortMessageReference    Cause = 81
	CauseSemanticallyIncorrectMessage    Cause = 95
	CauseInvalidMandatoryInformation     Cause = 96
	CauseMessageTypeNonExistent          Cause = 97
	CauseMessageNotCompatibleWithState   Cause = 98
	CauseInformationElementNonExistent   Cause = 99
	CauseProtocolErrorUnspecified        Cause = 111
	CauseInterworkingUnspecified         Cause = 127
)

// causeInfo is a row of table 8.4 with the retry class annex E implies.
type causeInfo struct {
	name      string
	temporary bool
}

// causes holds every cause of table 8.4. Temporary ones describe a state
// that passes (the recipient's memory full until it sends RP-SMMA, an
// outage or congestion: annex E, "not likely to last a long period" and
// kin); the rest say the message will not go through as sent.
var causes = map[Cause]causeInfo{
	CauseUnassignedNumber:                {name: "unassigned number"},
	CauseOperatorDeterminedBarring:       {name: "operator determined barring"},
	CauseCallBarred:                      {name: "call barred"},
	CauseReserved:                        {name: "reserved"},
	CauseShortMessageTransferRejected:    {name: "short message transfer rejected"},
	CauseMemoryCapacityExceeded:          {name: "memory capacity exceeded", temporary: true},
	CauseDestinationOutOfOrder:           {name: "destination out of order", temporary: true},
	CauseUnidentifiedSubscriber:          {name: "unidentified subscriber"},
	CauseFacilityRejected:                {name: "facility rejected"},
	CauseUnknownSubscriber:               {name: "unknown subscriber"},
	CauseNetworkOutOfOrder:               {name: "network out of order", temporary: true},
	CauseTemporaryFailure:                {name: "temporary failure", temporary: true},
	CauseCongestion:                      {name: "congestion", temporary: true},
	CauseResourcesUnavailable:            {name: "resources unavailable, unspecified", temporary: true},
	CauseRequestedFacilityNotSubscribed:  {name: "requested facility not subscribed"},
	CauseRequestedFacilityNotImplemented: {name: "requested facility not implemented"},
	CauseInvalidShortMessageReference:    {name: "invalid short message transfer reference value"},
	CauseSemanticallyIncorrectMessage:    {name: "semantically incorrect message"},
	CauseInvalidMandatoryInformation:     {name: "invalid mandatory information"},
	CauseMessageTypeNonExistent:          {name: "message type non-existent or not implemented"},
	CauseMessageNotCompatibleWithState:   {name: "message not compatible with short message protocol state"},
	CauseInformationElementNonExistent:   {name: "information element non-existent or not implemented"},
	CauseProtocolErrorUnspecified:        {name: "protocol error, unspecified"},
	CauseInterworkingUnspecified:         {name: "interworking, unspecified"},
}

// Known reports whether c is a value of table 8.4.
func (c Cause) Known() bool {
	_, ok := causes[c]
	return ok
}

// Temporary reports whether a retry of the same message may succeed later:
// true for the causes of a passing state, and for a value table 8.4 does
// not list, which part 1 of the table has the receiver treat as 41
// "temporary failure".
func (c Cause) Temporary() bool {
	info, ok := causes[c]
	return !ok || info.temporary
}

// String is the name of table 8.4 with the number, for logs.
func (c Cause) String() string {
	if info, ok := causes[c]; ok {
		return fmt.Sprintf("%d %s", uint8(c), info.name)
	}
	return fmt.Sprintf("%d unknown", uint8(c))
}
