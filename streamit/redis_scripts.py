"""Lua scripts that can run together in one Redis round trip.

A hot path that needs several small scripts (the token endpoint: both throttles, then the host's cached
copy) pays a network round trip and a reply parse for each. Each script here is a fragment, the body of a
Lua ``function(KEYS, ARGV)`` that reads only its own keys and arguments, so any list of them composes into
one script: ``run`` slices the keys and arguments out for each fragment and returns their answers in order.
A fragment's answer must not be nil (``false`` arrives as None).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Fragment:
    name: str
    lua: str  # the body of function(KEYS, ARGV): returns one value


@dataclass(frozen=True)
class Call:
    fragment: Fragment
    keys: list
    args: list


# ARGV begins with each fragment's key count, then each one's argument count; then their arguments.
_COMPOSE = """
local fragments = {%s}
local n = #fragments
local answers, k, a = {}, 0, 2 * n
for i = 1, n do
  local nk, na = tonumber(ARGV[i]), tonumber(ARGV[n + i])
  answers[i] = fragments[i]({unpack(KEYS, k + 1, k + nk)}, {unpack(ARGV, a + 1, a + na)})
  k, a = k + nk, a + na
end
return answers
"""

_scripts: dict[
    tuple[str, ...], object
] = {}  # registered once per combination (redis-py loads it on NOSCRIPT)


def source(fragments: list[Fragment]) -> str:
    """The one script that runs these fragments in order."""
    return _COMPOSE % ",\n".join(f"function(KEYS, ARGV)\n{fragment.lua}\nend" for fragment in fragments)


def _script(client, fragments: list[Fragment]):
    names = tuple(fragment.name for fragment in fragments)
    script = _scripts.get(names)
    if script is None:
        script = _scripts[names] = client.register_script(source(fragments))
    return script


def run(client, calls: list[Call]) -> list:
    """Every call's answer, in one round trip. Raises redis-py's errors (the caller decides what a failure
    means for it)."""
    keys = [key for call in calls for key in call.keys]
    args = [len(call.keys) for call in calls] + [len(call.args) for call in calls]
    args += [arg for call in calls for arg in call.args]
    return _script(client, [call.fragment for call in calls])(keys=keys, args=args, client=client)
