#!/bin/sh
# Runs protoc + grpc_cpp_plugin on one .proto, then renames the C++ identifier `delete`
# (a keyword) to `delete_`; the wire method path "/pkg.Service/delete" is left untouched.
# usage: generate.sh PROTOC GRPC_PLUGIN PROTO_ROOT OUT_ROOT FILE.proto
set -eu
protoc=$1 plugin=$2 root=$(realpath "$3") out=$4 input=$(realpath "$5")
"$protoc" --proto_path="$root" --cpp_out="$out" --grpc_out="$out" \
  --plugin=protoc-gen-grpc="$plugin" "$input"
base="$out/$(dirname "${input#"$root"/}")/$(basename "$input" .proto)"
sed -i 's/\bdelete(/delete_(/g' "$base.grpc.pb.h" "$base.grpc.pb.cc"
