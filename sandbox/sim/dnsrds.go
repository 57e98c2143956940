package sim

import "strings"

// DBEndpointIPs answers the sandbox DNS for the database's endpoint names,
// as RDS's DNS does: an instance endpoint resolves to the instance's
// current private address (a Multi-AZ instance's moves to the old standby
// when a failover completes), a cluster endpoint to the writer's, a
// reader endpoint to a reader's. The addresses are the region's simulated
// 10.0.x.x labels: they are answered, never dialled. name is lower-case,
// without the trailing dot; nil when it is no database endpoint.
func (r *Region) DBEndpointIPs(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	db := r.db
	if db == nil {
		return nil
	}
	for _, m := range db.members {
		if strings.EqualFold(m.m.Endpoint, name) {
			return []string{m.ep.ip.String()}
		}
	}
	if c := db.cluster; c != nil {
		w := db.members[db.writer]
		if strings.EqualFold(c.Endpoint, name) {
			return []string{w.ep.ip.String()}
		}
		if strings.EqualFold(c.ReaderEndpoint, name) {
			var out []string
			for i, m := range db.members {
				if i != db.writer {
					out = append(out, m.ep.ip.String())
				}
			}
			if len(out) == 0 {
				out = []string{w.ep.ip.String()} // no reader: the writer serves reads
			}
			return out
		}
	}
	return nil
}
