package nodelogs

import "net/http"

// InvalidQueryStatus is the status the kubelet answers a node log query it
// refuses with. Upstream answers 406 when a query parses but fails
// validation; 406 belongs to content negotiation and sends users looking at
// their Accept header. A refused query is a bad request, as the parse
// errors already are.
const InvalidQueryStatus = http.StatusBadRequest
