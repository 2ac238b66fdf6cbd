import { MappingTemplateError, escapeJavaScript, formatRequestTime, renderMappingTemplate } from './apigw-vtl';

/** Renders and returns only the text. */
function render(template: string, body?: unknown, extra: Omit<Parameters<typeof renderMappingTemplate>[1], 'body'> = {}): string {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return renderMappingTemplate(template, { ...extra, body: text }).output;
}

/** The JSON-string idiom of this project's templates (Java regex `\\'` = backslash + apostrophe). */
const ESCAPED_V = String.raw`$util.escapeJavaScript($input.path('$.v')).replaceAll("\\'","'")`;

describe('escapeJavaScript (Commons Lang 2.x StringEscapeUtils.escapeJavaScript)', () => {
  it.each([
    ['apostrophe', "it's", String.raw`it\'s`],
    ['double quote', 'say "hi"', String.raw`say \"hi\"`],
    ['backslash', 'a\\b', String.raw`a\\b`],
    ['slash', 'a/b', String.raw`a\/b`],
    ['newline', 'l1\nl2', String.raw`l1\nl2`],
    ['tab', 'a\tb', String.raw`a\tb`],
    ['carriage return, backspace, form feed', '\r\b\f', String.raw`\r\b\f`],
    ['control char U+0001', '\u0001', String.raw`\u0001`],
    ['control char U+001F (uppercase hex)', '\u001f', String.raw`\u001F`],
    ['é (above 0x7F)', 'é', String.raw`\u00E9`],
    ['U+0100 and €', 'Ā€', String.raw`\u0100\u20AC`],
    ['emoji (a surrogate pair gives two escapes)', '😀', String.raw`\uD83D\uDE00`],
    ['DEL (0x7F is not escaped)', '\u007f', '\u007f'],
    ['plain ASCII', 'Hello, World! <>&={}[]', 'Hello, World! <>&={}[]'],
    ['empty string', '', ''],
  ])('%s', (_name, input, expected) => {
    // Act
    const escaped = escapeJavaScript(input);

    // Assess
    expect(escaped).toBe(expected);
  });

  it('is what $util.escapeJavaScript renders, and renders nothing for null', () => {
    // Prepare
    const template = "[$util.escapeJavaScript($input.path('$.v'))][$util.escapeJavaScript($input.path('$.nope'))]";

    // Act
    const output = render(template, { v: `it's "x" \\ /` });

    // Assess
    expect(output).toBe(String.raw`[it\'s \"x\" \\ \/][]`);
  });
});

describe('the escapeJavaScript(...).replaceAll("\\\\\'","\'") idiom', () => {
  const template = `{"S": "${ESCAPED_V}"}`;

  it.each([
    ['apostrophe', "it's"],
    ['double quotes', 'say "hi"'],
    ['backslashes', 'C:\\temp\\new'],
    ['a trailing backslash', 'abc\\'],
    ['braces and brackets', '{"braces": [1, 2]}'],
    ['backslash + apostrophe', "\\'"],
    ['two backslashes + apostrophe', "\\\\'"],
    ['a JSON injection attempt', '"}, "injected": {"S": "x'],
    ['an SQL-ish injection', "'; DROP TABLE x; --"],
    ['control characters and unicode', 'l1\nl2\tt\u0000\u001f\u007f é 😀 \u2028'],
    ['a script tag', '</script>'],
    ['Velocity syntax in data', '$context.requestId #set($x = 1) ${y}'],
    ['the empty string', ''],
  ])('keeps %s intact as valid JSON string content', (_name, value) => {
    // Act
    const output = render(template, { v: value });

    // Assess
    expect(JSON.parse(output)).toEqual({ S: value });
  });

  it('is needed: without it an apostrophe gives invalid JSON', () => {
    // Prepare
    const withoutReplaceAll = `{"S": "$util.escapeJavaScript($input.path('$.v'))"}`;

    // Act
    const output = render(withoutReplaceAll, { v: "it's" });

    // Assess
    expect(() => JSON.parse(output)).toThrow(SyntaxError);
  });

  it('reads "\\\\\'" as the 3 characters of Velocity 1.7 (no escapes in string literals)', () => {
    // Act
    const output = render(String.raw`#set($p = "\\'")$p|$p.length()`);

    // Assess
    expect(output).toBe(String.raw`\\'|3`);
  });
});

describe('string literals (Velocity 1.7)', () => {
  it.each([
    ['a backslash before a quote stays', String.raw`#set($s = "a\"b")$s`, String.raw`a\"b`],
    ['\\uXXXX is unescaped in double quotes', String.raw`#set($s = "\u00e9")$s`, 'é'],
    ['single quotes do not interpolate', "#set($x = 1)#set($s = '$x')$s", '$x'],
    ['double quotes interpolate', '#set($x = 1)#set($s = "x=$x")$s', 'x=1'],
    ['interpolated method calls', '#set($t = "abcdef")#set($s = "$t.substring(1,3)-$t.length()")$s', 'bc-6'],
  ])('%s', (_name, template, expected) => {
    // Act
    const output = render(template);

    // Assess
    expect(output).toBe(expected);
  });

  it("rejects \\' in a single-quoted literal, which Velocity 1.7 lexes differently", () => {
    // Act
    const act = (): string => render(String.raw`#set($s = 'it\'s')$s`);

    // Assess
    expect(act).toThrow(MappingTemplateError);
  });
});

describe('$input', () => {
  const body = {
    a: { b: { c: 'deep' } },
    list: [{ id: 1 }, { id: 2 }],
    n: 42,
    f: 1.5,
    t: true,
    nul: null,
    s: 'text',
    'a.b, c': 'dotted',
  };

  it.each([
    ["$input.path('$.a.b.c')", 'deep'],
    [`$input.path("$['a']['b']['c']")`, 'deep'],
    ["$input.path('a.b.c')", 'deep'],
    ["$input.path('$.list[1].id')", '2'],
    ["$input.path('$.list[-1].id')", '2'],
    ["$input.path('$.n')", '42'],
    ["$input.path('$.f')", '1.5'],
    ["$input.path('$.t')", 'true'],
    ["$input.path('$.a')", '{b={c=deep}}'],
    ["$input.path('$.list')", '[{"id":1},{"id":2}]'],
    ["$input.path('$.list[*].id')", '[1,2]'],
    ["$input.path('$..id')", '[1,2]'],
    [`$input.path("$['a.b, c']")`, 'dotted'],
    ["$input.json('$.a')", '{"b":{"c":"deep"}}'],
    ["$input.json('$.a.b.c')", '"deep"'],
    ["$input.json('$.n')", '42'],
    ["$input.json('$.f')", '1.5'],
    ["$input.json('$.t')", 'true'],
    ["$input.json('$.nul')", 'null'],
    ["$input.json('$.list[0]')", '{"id":1}'],
  ])('%s renders %s', (template, expected) => {
    // Act
    const output = render(template, body);

    // Assess
    expect(output).toBe(expected);
  });

  it.each([
    ["[$input.path('$.nope')]", '[]'],
    ["[$input.path('$.a.nope.deeper')]", '[]'],
    ["[$input.path('$.list[5]')]", '[]'],
    ["[$input.path('$.nul')]", '[]'],
    ["#if($input.path('$.nope'))T#else F#end", ' F'],
    ["#if($input.path('$.nul'))T#else F#end", ' F'],
    ["$input.json('$.nope')", '""'],
    ["$input.path('$.list[*].nope')", '[]'],
  ])('a missing or null path: %s renders %s', (template, expected) => {
    // Act
    const output = render(template, body);

    // Assess
    expect(output).toBe(expected);
  });

  it('gives Java maps and lists to the template', () => {
    // Prepare
    const template = [
      "#set($a = $input.path('$.a'))",
      '$a.size() $a.containsKey("b") $a.containsKey("x") $a.isEmpty() $a.keySet() $a.get("b").get("c") $a["b"].c $a.b.c',
      "#set($l = $input.path('$.list'))",
      '|$l.size() $l.get(0).id $l[1].id $l.isEmpty() $l.empty',
    ].join('\n');

    // Act
    const output = render(template, body);

    // Assess
    expect(output).toBe('1 true false false [b] deep deep deep\n|2 1 2 false false');
  });

  it('keeps the key order of the JSON object, also for integer-like keys', () => {
    // Act
    const output = render("$input.path('$').keySet() $input.json('$')", '{"b": 1, "2": 2, "a": 3}');

    // Assess
    expect(output).toBe('[b, 2, a] {"b":1,"2":2,"a":3}');
  });

  it('renders a null inside a map as "null" (Java toString)', () => {
    // Act
    const output = render("$input.path('$')", { a: null, b: 'x' });

    // Assess
    expect(output).toBe('{a=null, b=x}');
  });

  it('reads an empty body as {} and gives the raw body as $input.body', () => {
    // Act
    const empty = render("$input.json('$')|$input.path('$').size()|[$input.body]", '');
    const raw = render('$input.body', '{ "x" : 1 }');

    // Assess
    expect(empty).toBe('{}|0|[]');
    expect(raw).toBe('{ "x" : 1 }');
  });

  it('fails like API Gateway when a path is read from a body that is not JSON', () => {
    // Act
    const act = (): string => render("$input.path('$.a')", 'not json');

    // Assess
    expect(act).toThrow(MappingTemplateError);
    expect(render('$input.body', 'not json')).toBe('not json');
  });

  it('rejects JSONPath filters instead of guessing', () => {
    // Act
    const act = (): string => render("$input.path('$.list[?(@.id > 1)]')", body);

    // Assess
    expect(act).toThrow(/filter expression is not supported/);
  });

  it('looks params up in path, then querystring, then header (case-insensitively); missing is ""', () => {
    // Prepare
    const params = { path: { id: 'p1' }, querystring: { q: 'q1', id: 'from-query' }, header: { 'X-Trace': 'h1' } };
    const template = "$input.params('id') $input.params('q') $input.params('x-trace') [$input.params('none')] #if($input.params('none'))truthy#end $input.params().querystring.q $input.params().header.get('X-Trace')";

    // Act
    const output = render(template, undefined, { params });

    // Assess
    expect(output).toBe('p1 q1 h1 [] truthy q1 h1');
  });

  it("renders AWS's all-params passthrough template as valid JSON", () => {
    // Prepare
    const template = [
      '#set($allParams = $input.params())',
      '{',
      '#foreach($type in $allParams.keySet())',
      '    #set($params = $allParams.get($type))',
      '"$type" : {',
      '    #foreach($paramName in $params.keySet())',
      '    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"',
      '        #if($foreach.hasNext),#end',
      '    #end',
      '}',
      '    #if($foreach.hasNext),#end',
      '#end',
      '}',
    ].join('\n');
    const params = { path: { id: 'p/1' }, querystring: { q: 'a"b', r: 'c' }, header: {} };

    // Act
    const output = render(template, undefined, { params });

    // Assess
    expect(JSON.parse(output)).toEqual({ path: { id: 'p/1' }, querystring: { q: 'a"b', r: 'c' }, header: {} });
  });
});

describe('#foreach', () => {
  it('builds a DynamoDB map from keySet() with $foreach.hasNext, in key order, as valid JSON', () => {
    // Prepare
    const template = [
      '{"M": {',
      "#set($attrs = $input.path('$.attrs'))",
      '#foreach($k in $attrs.keySet())',
      String.raw`  "$util.escapeJavaScript($k).replaceAll("\\'","'")": {"S": "$util.escapeJavaScript($attrs.get($k)).replaceAll("\\'","'")"}#if($foreach.hasNext),#end`,
      '#end',
      '}}',
    ].join('\n');
    const body = String.raw`{"attrs": {"b": "one", "2": "it's", "k'ey": "\"}, \"x\": {\"S\": \"y"}}`;

    // Act
    const output = render(template, body);

    // Assess
    expect(JSON.parse(output)).toEqual({ M: { b: { S: 'one' }, '2': { S: "it's" }, "k'ey": { S: '"}, "x": {"S": "y' } } });
    expect([...output.matchAll(/"([^"]+)": \{"S"/g)].map((m) => m[1])).toEqual(['b', '2', "k'ey"]);
  });

  it('renders nothing for an empty map, so the separators stay valid', () => {
    // Act
    const output = render("[#foreach($k in $input.path('$').keySet())$k#if($foreach.hasNext),#end#end]", {});

    // Assess
    expect(output).toBe('[]');
  });

  it('offers $foreach.index/count/first/last, $velocityCount and #break', () => {
    // Prepare
    const template = '#foreach($i in [10..14])#if($i == 13)#break#end$foreach.index:$foreach.count:$velocityCount:$foreach.first:$foreach.last;#end|$foreach';

    // Act
    const output = render(template);

    // Assess
    expect(output).toBe('0:1:1:true:false;1:2:2:false:false;2:3:3:false:false;|');
  });

  it('iterates the values of a map and the entries of entrySet()', () => {
    // Act
    const output = render("#foreach($v in $input.path('$'))$v,#end|#foreach($e in $input.path('$').entrySet())$e.key=$e.value;#end", { a: 1, b: 'x' });

    // Assess
    expect(output).toBe('1,x,|a=1;b=x;');
  });
});

describe('a template rendered again (parsed once, then shared)', () => {
  it('renders each request from its own input, with nothing left over from the render before', () => {
    // Prepare
    const template = "#set($n = 0)#foreach($k in $input.path('$').keySet())#set($n = $n + 1)$k#if($foreach.hasNext),#end#end|$n|#if($n > 1)many#{else}one#end";

    // Act
    const outputs = [render(template, { a: 1, b: 2, c: 3 }), render(template, { z: 1 }), render(template, { a: 1, b: 2, c: 3 })];

    // Assess
    expect(outputs).toEqual(['a,b,c|3|many', 'z|1|one', 'a,b,c|3|many']);
  });
});

describe('null references (API Gateway renders them as "")', () => {
  it.each([
    ['[$nope]', '[]'],
    ['[$!nope]', '[]'],
    ['[$nope.foo.bar()]', '[]'],
    ['[$context.nope]', '[]'],
    ['["$nope"]', '[""]'],
    ['#set($s = "v=$nope")[$s]', '[v=]'],
  ])('%s renders %s', (template, expected) => {
    // Act
    const output = render(template);

    // Assess
    expect(output).toBe(expected);
  });

  it('leaves a variable unchanged when #set gets null (Velocity 1.7 default)', () => {
    // Act
    const output = render("#set($x = 'keep')#set($x = $input.path('$.nope'))$x", {});

    // Assess
    expect(output).toBe('keep');
  });
});

describe('truthiness and comparison (Velocity 1.7)', () => {
  it.each([
    ['an empty string is true', '#set($e = "")#if($e)T#else F#end', 'T'],
    ['!"" is false', '#set($e = "")#if(!$e)T#else F#end', ' F'],
    ['$x == "" for ""', '#set($e = "")#if($e == "")T#end', 'T'],
    ['$nope == "" is false', '#if($nope == "")T#else F#end', ' F'],
    ['"$!nope" == "" is true', '#if("$!nope" == "")T#end', 'T'],
    ['undefined is false', '#if($nope)T#else F#end', ' F'],
    ['!undefined is true', '#if(!$nope)T#end', 'T'],
    ['false is false', '#set($b = false)#if($b)T#else F#end', ' F'],
    ['zero is true', '#set($z = 0)#if($z)T#end', 'T'],
    ['an empty list is true', '#set($l = [])#if($l)T#end', 'T'],
    ['&& and ||', '#set($a = "")#if($a && !$nope || $nope)T#end', 'T'],
    ['a number equals its string', '#if(1 == "1")T#end', 'T'],
    ['null equals null', '#if($nope == $nope2)T#end', 'T'],
    ['< compares numbers only', '#if("a" < "b")T#else F#end', ' F'],
    ['JSON numbers compare numerically', '#set($n = 42)#if($n >= 42 && $n < 43)T#end', 'T'],
  ])('%s', (_name, template, expected) => {
    // Act
    const output = render(template);

    // Assess
    expect(output).toBe(expected);
  });

  it('reads a missing parameter as "" (truthy) but a missing path as null (falsy)', () => {
    // Act
    const output = render("#if($input.params('none'))param#end #if($input.path('$.none'))path#end", {});

    // Assess
    expect(output).toBe('param ');
  });
});

describe('arithmetic', () => {
  it.each([
    ['integer division truncates', '#set($x = 7 / 2)$x', '3'],
    ['a decimal literal divides as a double', '#set($x = 7.0 / 2)$x', '3.5'],
    ['division by zero is null (so #set is skipped)', '#set($x = 1)#set($x = 7 / 0)$x', '1'],
    ['+ with a string concatenates', '#set($x = "a" + 1)$x', 'a1'],
    ['a number plus a number', '#set($x = 40 + 2)$x', '42'],
  ])('%s', (_name, template, expected) => {
    // Act
    const output = render(template);

    // Assess
    expect(output).toBe(expected);
  });
});

describe('Java String methods', () => {
  it.each([
    ['length()', '"abc"', '$s.length()', '3'],
    ['isEmpty()', '""', '$s.isEmpty()', 'true'],
    ['contains', '"abc"', '$s.contains("bc")', 'true'],
    ['startsWith, also with an offset', '"abc"', '$s.startsWith("ab") $s.startsWith("c", 2)', 'true true'],
    ['endsWith', '"abc"', '$s.endsWith("bc")', 'true'],
    ['matches is a whole-string match', '"abc"', '$s.matches("b") $s.matches("a.c")', 'false true'],
    ['matches with a Java regex', '"a1b22"', '$s.matches("[a-z]\\d[a-z]\\d+")', 'true'],
    ['matches with (?i)', '"ABC"', '$s.matches("(?i)abc")', 'true'],
    ['substring', '"abcdef"', '$s.substring(1, 3) $s.substring(4)', 'bc ef'],
    ['toLowerCase / toUpperCase', '"aBc"', '$s.toLowerCase() $s.toUpperCase()', 'abc ABC'],
    ['equals', '"a"', '$s.equals("a") $s.equals("b")', 'true false'],
    ['indexOf / lastIndexOf', '"abcabc"', '$s.indexOf("c") $s.lastIndexOf("c") $s.indexOf("z")', '2 5 -1'],
    ['replace is literal and replaces every occurrence', '"a.b.c"', '$s.replace(".", "-")', 'a-b-c'],
    ['replaceAll takes a Java regex', '"a.b.c"', '$s.replaceAll("\\.", "")', 'abc'],
    ['replaceAll with $1', '"x1y22"', '$s.replaceAll("(\\d+)", "<$1>")', 'x<1>y<22>'],
    ['replaceAll with a quoted dollar', '"x1"', "$s.replaceAll('\\d', '\\$')", 'x$'],
    ['replaceFirst', '"a1b2"', '$s.replaceFirst("\\d", "#")', 'a#b2'],
    ['replaceAll with \\Q...\\E', '"a.b"', '$s.replaceAll("\\Q.\\E", "!")', 'a!b'],
    ['split drops trailing empty strings', '"a,b,,"', '$s.split(",").size()', '2'],
    ['split keeps a leading empty string', '",a"', '$s.split(",").size()', '2'],
    ['split by regex', '"a1b22c"', '$s.split("\\d+")', '[a, b, c]'],
    ['charAt', '"abc"', '$s.charAt(1)', 'b'],
    ['concat', '"ab"', '$s.concat("cd")', 'abcd'],
    ['hashCode (Java)', '"hello"', '$s.hashCode()', '99162322'],
  ])('%s', (_name, literal, expression, expected) => {
    // Prepare
    const template = `#set($s = ${literal})${expression}`;

    // Act
    const output = render(template);

    // Assess
    expect(output).toBe(expected);
  });

  it('trims like Java: only characters up to U+0020, not NBSP', () => {
    // Act
    const output = render("[$input.path('$.s').trim()]", { s: '\u00a0 x\t\n' });

    // Assess
    expect(output).toBe('[\u00a0 x]');
  });

  it('works on values from $input.path, $util, $context and #set', () => {
    // Prepare
    const template = '#set($x = "xyz")' + ["$input.path('$.s').length()", '$util.urlEncode("a b").length()', '$context.stage.toUpperCase()', '$x.substring(1)'].join(' ');

    // Act
    const output = render(template, { s: 'four' }, { context: { stage: 'dev' } });

    // Assess
    expect(output).toBe('4 3 DEV yz');
  });

  it('exposes no JS properties or methods', () => {
    // Act
    const output = render('#set($s = "abc")[$s.length][$s.padStart(5)][$s.constructor][$s.empty]');

    // Assess
    expect(output).toBe('[][][][false]');
  });

  it.each([
    ['substring out of range', '#set($s = "abc")$s.substring(5)', /StringIndexOutOfBoundsException/],
    ['an invalid regex', '#set($s = "abc")$s.replaceAll("(", "x")', /PatternSyntaxException/],
    ['a bad group reference', '#set($s = "abc")$s.replaceAll("a", "$2")', /No group 2/],
    ['a possessive quantifier (no JS equivalent)', '#set($s = "abc")$s.matches("a++")', /not supported/],
    ['a list index out of range', '#set($l = [1])$l.get(3)', /IndexOutOfBoundsException/],
  ])('fails on %s like Java would', (_name, template, message) => {
    // Act
    const act = (): string => render(template);

    // Assess
    expect(act).toThrow(message);
  });
});

describe('literals', () => {
  it('supports map literals with get(), [] and property access', () => {
    // Act
    const output = render('#set($m = {"a": "b", "n": 1})$m.get("a") $m["a"] $m.a $m.size() $m [$m.get("z")]');

    // Assess
    expect(output).toBe('b b b 2 {a=b, n=1} []');
  });

  it('supports list literals and ranges', () => {
    // Act
    const output = render('#set($l = [1, "x"])$l.size() $l.get(1) $l $l[-1] #foreach($i in [3..1])$i#end');

    // Assess
    expect(output).toBe('2 x [1, x] x 321');
  });

  it('lets #set change maps, including $context', () => {
    // Act
    const output = render('#set($m = {})#set($m.a = 1)#set($ignore = $m.put("b", 2))$m');

    // Assess
    expect(output).toBe('{a=1, b=2}');
  });
});

describe('$context.responseOverride', () => {
  it('captures the status and headers a template sets', () => {
    // Prepare
    const template = [
      '#set($context.responseOverride.status = 404)',
      '#set($context.responseOverride.header.X-Request-Id = "$context.requestId")',
      '#set($context.responseOverride.header.Retry-After = 5)',
      '{"message": "not found"}',
    ].join('\n');

    // Act
    const result = renderMappingTemplate(template, { context: { requestId: 'req-1' } });

    // Assess
    expect(result).toEqual({
      output: '{"message": "not found"}',
      statusOverride: 404,
      headerOverrides: { 'X-Request-Id': 'req-1', 'Retry-After': '5' },
    });
  });

  it('reads a status set as a string, and the override is readable in the template', () => {
    // Act
    const result = renderMappingTemplate('#set($context.responseOverride.status = "409")$context.responseOverride.status');

    // Assess
    expect(result.statusOverride).toBe(409);
    expect(result.output).toBe('409');
  });

  it('reports nothing when the template sets nothing', () => {
    // Act
    const result = renderMappingTemplate('{}');

    // Assess
    expect(result.statusOverride).toBeUndefined();
    expect(result.headerOverrides).toEqual({});
  });

  it('maps a DynamoDB error type to a status in an integration response template', () => {
    // Prepare
    const template = [
      `#set($type = "$!input.path('$.__type')")`,
      '#if($type.contains("ConditionalCheckFailed"))',
      '#set($context.responseOverride.status = 409)',
      '{"message": "conflict"}',
      '#else',
      '{"message": "error"}',
      '#end',
    ].join('\n');
    const body = { __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'The conditional request failed' };

    // Act
    const result = renderMappingTemplate(template, { body: JSON.stringify(body) });

    // Assess
    expect(result).toEqual({ output: '{"message": "conflict"}\n', statusOverride: 409, headerOverrides: {} });
  });
});

describe('$util', () => {
  it.each([
    ['urlEncode (java.net.URLEncoder)', '$util.urlEncode("a b&c/é~*")', 'a+b%26c%2F%C3%A9%7E*'],
    ['urlDecode', '$util.urlDecode("a+b%26c%2F%C3%A9%7E*")', 'a b&c/é~*'],
    ['base64Encode (UTF-8)', '$util.base64Encode("é")', 'w6k='],
    ['base64Decode', '$util.base64Decode("w6k=")', 'é'],
    ['parseJson gives a map', `#set($j = $util.parseJson('{"a":[1,2],"b":{"c":"d"}}'))$j.a.size() $j.b.c $j.a`, '2 d [1,2]'],
  ])('%s', (_name, template, expected) => {
    // Act
    const output = render(template);

    // Assess
    expect(output).toBe(expected);
  });
});

describe('$context and $stageVariables', () => {
  it('derives requestTime from requestTimeEpoch and keeps given fields', () => {
    // Prepare
    const context = { requestTimeEpoch: 1700000000000, requestId: 'r-1', identity: { userArn: 'arn:aws:iam::123456789012:user/u' } };

    // Act
    const output = render('$context.requestTime|$context.requestTimeEpoch|$context.requestId|$context.identity.userArn|$context.identity.sourceIp', undefined, { context });

    // Assess
    expect(output).toBe('14/Nov/2023:22:13:20 +0000|1700000000000|r-1|arn:aws:iam::123456789012:user/u|127.0.0.1');
  });

  it('gives every render its own request id by default', () => {
    // Act
    const first = render('$context.requestId');
    const second = render('$context.requestId');

    // Assess
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).not.toBe(first);
  });

  it('formats requestTime like API Gateway', () => {
    // Act
    const formatted = formatRequestTime(Date.UTC(2015, 3, 9, 2, 3, 4));

    // Assess
    expect(formatted).toBe('09/Apr/2015:02:03:04 +0000');
  });

  it('reads stage variables', () => {
    // Act
    const output = render('$stageVariables.table [$stageVariables.nope]', undefined, { stageVariables: { table: 'runs' } });

    // Assess
    expect(output).toBe('runs []');
  });
});

describe('whitespace and text', () => {
  it('drops the line end after a directive, LF or CRLF, and the indentation before #set', () => {
    // Prepare
    const template = 'a\r\n#set($x = 1)\r\n  #set($y = 2)\r\n#if($x == 1)\r\nyes\r\n#end\r\nb$y';

    // Act
    const output = render(template);

    // Assess
    expect(output).toBe('a\r\nyes\r\nb2');
  });

  it('gives the spaces before a #set that starts a token to the #set, like Velocity 1.7', () => {
    // Act
    const output = render('#set($a = 1)$a #set($b = 2)[ #set($c = 3)]');

    // Assess
    expect(output).toBe('1[ ]');
  });

  it('runs #macro definitions and calls', () => {
    // Act
    const output = render(`#macro(greet $name)Hi $name!#end#greet("x") #greet($input.path('$.a'))`, { a: 'y' });

    // Assess
    expect(output).toBe('Hi x! Hi y!');
  });

  it('leaves DynamoDB #names and unknown directives as text', () => {
    // Act
    const output = render('{"#s": "status", "UpdateExpression": "SET #s = :v"} #notAMacro()');

    // Assess
    expect(output).toBe('{"#s": "status", "UpdateExpression": "SET #s = :v"} #notAMacro()');
  });

  it('reports a template that does not parse as a MappingTemplateError', () => {
    // Act
    const act = (): string => render('#if($x');

    // Assess
    expect(act).toThrow(MappingTemplateError);
  });
});
