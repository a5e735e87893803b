#!/usr/bin/env python3
"""Fails when two files under src/ import each other (the layering rule in
README.md, "Layout": data flows one way). Run by .ci/run.

An import is any path starting with `crate::`, `super::` or `self::`, or a
bare path whose first segment is a child module of the file (`yuv::Picture`
in video/mod.rs), in `use` items and inline paths alike; `use` groups
`{a, b::c}` are expanded. Comments are stripped. A path resolves to the
longest prefix that names a module file; the crate root's `pub use`
re-exports (`crate::report`) are followed.
Usage: layering.py [SRC] [--no-tests]   (--no-tests drops `#[cfg(test)] mod` blocks)
"""
import os, re, sys

SRC = next((a for a in sys.argv[1:] if not a.startswith('--')), 'src')
NO_TESTS = '--no-tests' in sys.argv

def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == 'mod' or rel == ['lib'] or rel == ['main']:
        rel = rel[:-1]
    return tuple(rel)

files = {}
for root, _, names in os.walk(SRC):
    for n in names:
        if n.endswith('.rs'):
            p = os.path.join(root, n)
            files[module_of(p)] = p
# main.rs and lib.rs both map to (); keep lib as the crate root
files[()] = os.path.join(SRC, 'lib.rs')
main = os.path.join(SRC, 'bin', 'assetmill', 'main.rs')

def strip(text):
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    return text

def drop_tests(text):
    out, i = [], 0
    for m in re.finditer(r'#\[cfg\(test\)\]\s*(?:pub(?:\(crate\))?\s+)?mod\s+\w+\s*\{', text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {'{': 1, '}': -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return ''.join(out)

# crate-root re-exports: `pub use outputs::{assetmap, report}` -> alias
aliases = {}
lib = strip(open(files[()]).read())
for m in re.finditer(r'pub use ([\w:]+)::\{([^}]*)\};', lib):
    for name in m.group(1 + 1).split(','):
        name = name.strip()
        if name:
            aliases[name] = tuple(m.group(1).split('::')) + (name,)
for m in re.finditer(r'pub use ([\w:]+)::(\w+);', lib):
    aliases[m.group(2)] = tuple(m.group(1).split('::')) + (m.group(2),)

def expand(prefix, body):
    """Expand a use tree body like `{a, b::{c, d}}` into paths."""
    body = body.strip()
    if body.startswith('{') and body.endswith('}'):
        inner, parts, depth, cur = body[1:-1], [], 0, ''
        for ch in inner:
            if ch == ',' and depth == 0:
                parts.append(cur); cur = ''
                continue
            depth += (ch == '{') - (ch == '}')
            cur += ch
        parts.append(cur)
        res = []
        for part in parts:
            if part.strip():
                res += expand(prefix, part)
        return res
    m = re.match(r'([\w:]*?)(::)?(\{.*\})$', body, re.S)
    if m and m.group(3):
        head = [s for s in m.group(1).split('::') if s]
        return expand(prefix + head, m.group(3))
    body = re.split(r'\s+as\s+', body)[0]
    return [prefix + [s for s in body.split('::') if s]]

def resolve(mod, path, children):
    segs = list(path)
    if not segs:
        return None
    if segs[0] == 'crate':
        base, segs = [], segs[1:]
        if segs and segs[0] in aliases:
            base, segs = list(aliases[segs[0]]), segs[1:]
    elif segs[0] == 'super':
        base = list(mod)
        while segs and segs[0] == 'super':
            base, segs = base[:-1], segs[1:]
    elif segs[0] == 'self':
        base, segs = list(mod), segs[1:]
    elif segs[0] in children:
        base = list(mod)
    else:
        return None
    full = base + segs
    for k in range(len(full), -1, -1):
        if tuple(full[:k]) in files:
            return tuple(full[:k])
    return None

def inline_scopes(text):
    """[(start, end, [names])]: spans of inline `mod x { ... }` blocks."""
    spans = []
    for m in re.finditer(r'\bmod\s+(\w+)\s*\{', text):
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {'{': 1, '}': -1}.get(text[j], 0)
            j += 1
        spans.append((m.start(), j, m.group(1)))
    return spans

def scope_at(spans, pos):
    return [n for (a, b, n) in spans if a <= pos < b]

deps = {}
for mod, path in list(files.items()) + [(('<main>',), main)]:
    if not os.path.exists(path):
        continue
    text = strip(open(path).read())
    if NO_TESTS:
        text = drop_tests(text)
    ctx = () if mod == ('<main>',) else mod
    spans = inline_scopes(text)
    children = set(re.findall(r'\bmod\s+(\w+)\s*;', text))
    found = []
    for m in re.finditer(r'\buse\s+([^;]+);', text):
        for p in expand([], m.group(1)):
            found.append((m.start(), p))
    pat = r'(?<![\w:])((?:crate|super|self)(?:::\w+)+|(?:%s)(?:::\w+)+)' % '|'.join(children or ['\x00'])
    for m in re.finditer(pat, text):
        found.append((m.start(), m.group(1).split('::')))
    out = set()
    for pos, p in found:
        inner = scope_at(spans, pos)
        here = tuple(ctx) + tuple(inner)
        r = resolve(here, p, children if not inner else set())
        if r is not None and r != mod:
            out.add(r)
    deps[mod] = out

def name(m):
    return main if m == ('<main>',) else files[m]

pairs = sorted({tuple(sorted((name(a), name(b)))) for a in deps for b in deps[a]
                if b in deps and a in deps[b]})
for a, b in pairs:
    pa, pb = os.path.dirname(a), os.path.dirname(b)
    kind = 'parent/child' if (a.endswith('mod.rs') and pb.startswith(pa)) or (b.endswith('mod.rs') and pa.startswith(pb)) else ''
    print(f'{a} <-> {b}  {kind}')
print(f'{len(pairs)} pairs of files import each other', file=sys.stderr)
sys.exit(1 if pairs else 0)
