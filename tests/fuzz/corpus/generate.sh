#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): requests like those the
# e2e tests send (tests/support/requests.h), encoded by protoc from text format, and real ids, tokens
# and names. Run from anywhere: tests/fuzz/corpus/generate.sh
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=$root/tests/fuzz/corpus
ex=ai/stigmer/agentic/agentexecution/v1/agentexecution.proto
exv1=ai.stigmer.agentic.agentexecution.v1
sessions=ai/stigmer/agentic/session/v1/session.proto
sessionv1=ai.stigmer.agentic.session.v1

encode() {  # <message type> <proto file> <text format>
  printf '%s' "$3" | protoc -I "$root/proto" --encode="$1" "$root/proto/$2"
}
seed() {  # <target> <name> <selector byte, octal> <message type> <proto file> <text format>
  mkdir -p "$out/$1"
  { printf "\\$3"; encode "$4" "$5" "$6"; } >"$out/$1/$2"
}

agent='metadata { name: "Code Reviewer" owner_scope: organization org: "acme" }
  spec { instructions: "Review the diff carefully." }'
instance='metadata { name: "reviewer-prod" owner_scope: organization org: "acme" }
  spec { agent_id: "agt-01jd8x5w3v0000000000000000" description: "an instance for tests" }'
session='metadata { name: "review session" owner_scope: organization org: "acme" }
  spec { agent_instance_id: "ain-01jd8x5w3v0000000000000001" subject: "a session for tests" }'
execution='metadata {} spec { session_id: "ses-01jd8x5w3v0000000000000002" message: "hello"
  runtime_env { key: "TOKEN" value { value: "s3cret" is_secret: true } } }'
running='phase: EXECUTION_IN_PROGRESS started_at: "2026-11-28T02:00:00Z"
  messages { type: MESSAGE_AI content: "reading the diff" tool_calls { id: "t1" name: "read_file"
    status: TOOL_CALL_RUNNING args { fields { key: "path" value { string_value: "src/main.cpp" } }
      fields { key: "line" value { number_value: 42 } } } } }
  tool_calls { id: "t1" name: "read_file" status: TOOL_CALL_RUNNING }
  sub_agent_executions { id: "s1" name: "linter" status: SUB_AGENT_IN_PROGRESS }
  todos { key: "1" value { id: "1" content: "review" status: TODO_IN_PROGRESS } }'
completed='phase: EXECUTION_COMPLETED completed_at: "2026-11-28T02:05:00Z"
  tool_calls { id: "t1" name: "read_file" status: TOOL_CALL_COMPLETED result: "ok" }'

seed requests agent '000' ai.stigmer.agentic.agent.v1.Agent ai/stigmer/agentic/agent/v1/agent.proto "$agent"
seed requests instance '001' ai.stigmer.agentic.agentinstance.v1.AgentInstance \
  ai/stigmer/agentic/agentinstance/v1/agentinstance.proto "$instance"
seed requests session '002' $sessionv1.Session $sessions "$session"
# Once a finding: a name that yields no slug.
seed requests agent-punctuation-name '000' ai.stigmer.agentic.agent.v1.Agent ai/stigmer/agentic/agent/v1/agent.proto \
  'metadata { name: "!!!" owner_scope: organization org: "acme" } spec { instructions: "Review the diff carefully." }'
seed requests execution '003' $exv1.AgentExecution $ex "$execution"
# Once a finding: several offending map entries, which a copy of the message may iterate in another order.
seed requests execution-empty-env '003' $exv1.AgentExecution $ex \
  'metadata { name: "review" } spec { message: "hello" runtime_env { key: "B" value {} } runtime_env { key: "A" value {} }
   runtime_env { key: "C" value {} } }'
seed requests update-status '004' $exv1.AgentExecutionUpdateStatusInput $ex \
  "execution_id: \"aex-01jd8x5w3v0000000000000003\" status { $running }"
seed requests execution-id '010' $exv1.AgentExecutionId $ex 'value: "aex-01jd8x5w3v0000000000000003"'
seed requests cancel '012' $exv1.CancelAgentExecutionInput $ex 'id: "aex-01jd8x5w3v0000000000000003" reason: "user"'
printf '\016retry-7f3a2c' >"$out/requests/idempotency-key"

# status_merge: the stored status's length in two bytes, the stored status, the pushed status.
stored=$(mktemp)
trap 'rm -f "$stored"' EXIT
encode $exv1.AgentExecutionStatus $ex "$running" >"$stored"
status_seed() {  # <name> <pushed status, text format>
  mkdir -p "$out/status_merge"
  local n
  n=$(stat -c %s "$stored")
  { printf "\\$(printf %03o $((n >> 8)))\\$(printf %03o $((n & 255)))"; cat "$stored"
    encode $exv1.AgentExecutionStatus $ex "$2"; } >"$out/status_merge/$1"
}
status_seed progress "$running"
status_seed complete "$completed"
status_seed fail 'phase: EXECUTION_FAILED error: "model error"'
# Once a finding: the retry of a final push whose tool call argument is a NaN.
status_seed nan-argument 'phase: EXECUTION_COMPLETED tool_calls { id: "t1" status: TOOL_CALL_COMPLETED
  args { fields { key: "ratio" value { number_value: nan } } } }'
status_seed thinking 'messages { type: MESSAGE_THINKING content: "next: the tests" }'

# page_tokens: ids of the rows its database holds ("<prefix>-01jd" + 20 zeros + two base32 digits).
zeros=00000000000000000000
seed page_tokens executions '000' $exv1.ListAgentExecutionsRequest $ex \
  "page_size: 5 page_token: \"aex-01jd${zeros}1b\" phase: EXECUTION_IN_PROGRESS tags: \"alpha\""
seed page_tokens executions-by-session '001' $exv1.ListAgentExecutionsBySessionRequest $ex \
  "session_id: \"ses-01jd${zeros}02\" page_size: 3"
seed page_tokens sessions '002' $sessionv1.ListSessionsRequest $sessions \
  "page_size: 4 page_token: \"ses-01jd${zeros}11\" tags: \"beta\""
seed page_tokens sessions-by-agent '003' $sessionv1.ListSessionsByAgentRequest $sessions \
  "agent_id: \"agt-01jd${zeros}01\" page_size: 2"

mkdir -p "$out/ids_slugs"
printf 'Code Reviewer' >"$out/ids_slugs/name"
printf '  --Hello, World!! v2 --' >"$out/ids_slugs/punctuated-name"
printf 'aex-01jd8x5w3v0000000000000003' >"$out/ids_slugs/execution-id"
printf '01jd8x5w3v0000000000000000' >"$out/ids_slugs/ulid"
# Three clock readings of 6 bytes each, the last one a millisecond back.
printf '\000\000\001\223\152\000\000\000\001\223\152\000\000\000\001\223\151\377' >"$out/ids_slugs/clock-steps-back"
