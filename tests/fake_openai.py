"""A local OpenAI-compatible chat completions server for tests, scripted per test.

Plain HTTP (werkzeug's `make_server` in a thread on 127.0.0.1:0); the real `openai` package talks to it. Each
request takes the next `Step` of the script: text and/or tool calls, streamed as server-sent events when the
client asks for a stream, or an HTTP error, a delay, or garbage. `requests` keeps every request body so a
test can check what the model was shown.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Step:
    text: str = ""
    # (name, raw JSON arguments, or a function of the request body that writes them)
    tool_calls: list[tuple[str, str | Callable[[dict], str]]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    garbled: bool = False  # a stream that breaks off into invalid JSON after its first words


def say(text: str) -> Step:
    return Step(text=text)


def call(name: str, **args: object) -> Step:
    return Step(tool_calls=[(name, json.dumps(args))])


def raw_call(name: str, arguments: str) -> Step:
    return Step(tool_calls=[(name, arguments)])


def offered(body: dict, n: int = 0) -> int:
    """The n-th slot id the engine told the model about (in its system prompt)."""
    return [int(x) for x in re.findall(r"slot_id (\d+)", body["messages"][0]["content"])][n]


def listed(body: dict, n: int = 0) -> int:
    """The n-th appointment id the engine told the model about: from the last tool result, else the prompt."""
    for message in reversed(body["messages"]):
        if message["role"] == "tool" and "appointment_id" in message["content"]:
            return [int(x) for x in re.findall(r'"appointment_id": (\d+)', message["content"])][n]
    return [int(x) for x in re.findall(r"appointment_id (\d+)", body["messages"][0]["content"])][n]


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: list[Step] = []
        self.requests: list[dict] = []
        self.first_token_at: list[float] = []  # perf_counter when each stream's first word was handed out
        self._lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def play(self, *steps: Step) -> None:
        with self._lock:
            self.script.extend(steps)

    @property
    def prompts(self) -> list[str]:
        """Every system prompt and message the model was sent, as one text per request."""
        return [json.dumps(r["messages"]) for r in self.requests]

    def _next(self) -> Step:
        with self._lock:
            return self.script.pop(0) if self.script else Step(text="Sorry, my script ran out.")

    def _app(self, environ, start_response):
        request = Request(environ)
        if request.method != "POST" or not request.path.endswith("/chat/completions"):
            return Response("not found", status=404)(environ, start_response)
        body = request.get_json()
        with self._lock:
            self.requests.append(body)
        step = self._next()
        step = replace(
            step,
            tool_calls=[(name, args(body) if callable(args) else args) for name, args in step.tool_calls],
        )
        if step.delay:
            time.sleep(step.delay)
        if step.status != 200:
            error = {"error": {"message": "scripted failure", "type": "server_error", "code": None}}
            return Response(
                json.dumps(error),
                status=step.status,
                mimetype="application/json",
                headers={"retry-after": "0"},
            )(environ, start_response)
        if body.get("stream"):
            return Response(
                _events(step, body["model"], self.first_token_at.append), mimetype="text/event-stream"
            )(environ, start_response)
        return Response(json.dumps(_completion(step, body["model"])), mimetype="application/json")(
            environ, start_response
        )


def _tool_calls(step: Step) -> list[dict]:
    return [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}
        for i, (name, args) in enumerate(step.tool_calls)
    ]


def _completion(step: Step, model: str) -> dict:
    message: dict = {"role": "assistant", "content": step.text or None}
    if step.tool_calls:
        message["tool_calls"] = _tool_calls(step)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if step.tool_calls else "stop"}
        ],
    }


def _events(step: Step, model: str, on_first_token=None) -> Iterator[bytes]:
    def chunk(delta: dict, finish: str | None = None) -> bytes:
        body = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    if step.garbled:
        yield chunk({"content": step.text.split(" ")[0]})
        yield b"data: {not json\n\n"
        return
    words = step.text.split(" ") if step.text else []
    for i, word in enumerate(words):
        if i == 0 and on_first_token is not None:
            on_first_token(time.perf_counter())
        yield chunk({"content": word if i == 0 else " " + word})
    for i, (name, args) in enumerate(step.tool_calls):
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": i,
                        "id": f"call_{i}",
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ]
            }
        )
        half = len(args) // 2
        for part in (args[:half], args[half:]):
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
    yield chunk({}, "tool_calls" if step.tool_calls else "stop")
    yield b"data: [DONE]\n\n"
