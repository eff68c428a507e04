"""`tmodel serve`: the model as a Temporal server that official SDKs and tools talk to.

Modules: kernel (the live clock driving the simulator's kernel), runtime (the server
nodes of sim.server on that kernel), convert (protobuf <-> core values), tokens, errors,
frontend (state shared by handlers), rpc_* (the RPC handlers by family), visibility
(list and count queries), server (the gRPC server).
"""
