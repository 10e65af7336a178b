// The Jinja engine's language, case by case, with the outputs llama.cpp's
// engine gives (common/jinja), including where it differs from Python Jinja2.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tessel/error.hpp"
#include "tessel/jinja.hpp"

using nlohmann::ordered_json;

namespace {

// Renders `src` with one user message "hi" and the given extra globals; no
// generation prompt, no BOS stripping, so the output is the template's own.
std::string render(const std::string& src, ordered_json extra = ordered_json::object()) {
  tessel::ChatTemplateOptions opt;
  opt.add_generation_prompt = false;
  opt.strip_bos = false;
  opt.extra = std::move(extra);
  return tessel::ChatTemplate(src).render(ordered_json::array({{{"role", "user"}, {"content", "hi"}}}), opt);
}

std::string error_of(const std::string& src, ordered_json extra = ordered_json::object()) {
  try {
    render(src, std::move(extra));
  } catch (const tessel::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("expressions print as llama.cpp prints them") {
  CHECK(render("{{ 1 + 2 }}|{{ 7 / 2 }}|{{ 7 % 3 }}|{{ 2 * 3.0 }}|{{ -3 }}") == "3|3.5|1|6.0|-3");
  CHECK(render("{{ 'a' ~ 1 ~ true }}|{{ 'x' * 3 }}|{{ 'ab' + 'cd' }}") == "a1True|xxx|abcd");
  CHECK(render("{{ none }}|{{ undefined_name }}|{{ {'a': 1} }}|{{ [1, 'b', 2.5] }}") == "|||1b2.5");
  CHECK(render("{{ [1, 'b'] | string }}|{{ {'a': none} | string }}|{{ ('x', 1) | string }}") ==
        "[1, 'b']|{'a': None}|('x', 1)");
  CHECK(render("{{ 'it\\'s' }}|{{ \"tab\\there\" }}|{{ 'a' 'b' }}") == "it's|tab\there|ab");
  CHECK(render("{{ 1 if false else 2 }}|{{ 'y' if true }}|{{ 'n' if false }}") == "2|y|");
  CHECK(render("{{ 3 > 2 and 'yes' }}|{{ 0 or 'fallback' }}|{{ not 0 }}") == "yes|fallback|True");
  CHECK(render("{{ 'a' in 'cat' }}|{{ 2 in [1, 2] }}|{{ 'k' in {'k': 1} }}|{{ 'z' not in 'abc' }}") ==
        "True|True|True|True");
  CHECK(render("{{ x ~ 'a' }}|{{ none ~ 'b' }}") == "a|b");  // llama.cpp's null + string workaround
}

TEST_CASE("whitespace control follows trim_blocks and lstrip_blocks") {
  CHECK(render("a\n  {% if true %}\nb\n  {% endif %}\nc") == "a\nb\nc");
  CHECK(render("a  {{- 'b' -}}  c") == "abc");
  CHECK(render("xx {%- if true -%} y {%- endif -%} z") == "xxyz");
  CHECK(render("{# comment #}\nkept") == "kept");
  CHECK(render("{{ 'a' }}\nb") == "a\nb");   // no trim after an expression
  CHECK(render("line\n") == "line");        // one trailing newline is dropped
  CHECK(render("a\r\nb") == "a\nb");
}

TEST_CASE("for loops, loop variables, else and filters") {
  CHECK(render("{% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
               "{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}") ==
        "103TrueFalse3;212FalseFalse3;321FalseTrue3;");
  CHECK(render("{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }},{% endfor %}") == "-2,1-3,2-,");
  CHECK(render("{% for x in [] %}a{% else %}empty{% endfor %}") == "empty");
  CHECK(render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{% endfor %}") == "24");
  CHECK(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }} {% endfor %}") == "a=1 b=2 ");
  CHECK(render("{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}") == "ab");
  CHECK(render("{% for x in range(5) %}{% if x == 3 %}{% break %}{% endif %}{% if x == 1 %}{% continue %}"
               "{% endif %}{{ x }}{% endfor %}") == "02");
  CHECK(render("{% for m in messages %}{{ m.role }}:{{ m['content'] }}{% endfor %}") == "user:hi");
}

// Jinja2 (with loopcontrols) gives these; break / continue outside a loop is
// a compile error there. Found by the chat-template fuzz target: a top-level
// {% break %} escaped the render as a non-std exception and aborted.
TEST_CASE("break and continue: text before them stays, outside a loop they are refused") {
  CHECK(render("{% for x in [1, 2, 3] %}{% if true %}A{{ x }}{% break %}{% endif %}B{% endfor %}") == "A1");
  CHECK(render("{% for x in [1, 2] %}{% if x %}<{{ x }}{% if x == 1 %}|{% continue %}{% endif %}>{% endif %}"
               "{% endfor %}") == "<1|<2>");
  CHECK(render("{% for x in [1, 2] %}{% set y %}Q{% break %}{% endset %}{{ y }}{% endfor %}") == "");
  CHECK(render("{% for a in [1, 2] %}{{ a }}{% for b in [] %}{% else %}{% break %}{% endfor %}{% endfor %}") == "1");
  CHECK(render("{% macro m() %}{% for x in [1, 2] %}{{ x }}{% break %}{% endfor %}{% endmacro %}{{ m() }}") == "1");
  CHECK_THAT(error_of("{%- break -%} hi"), Catch::Contains("'break' outside a for loop") && Catch::Contains("line 1"));
  CHECK_THAT(error_of("\n{% if true %}{% continue %}{% endif %}"),
             Catch::Contains("'continue' outside a for loop") && Catch::Contains("line 2"));
  CHECK_THAT(error_of("{% for x in [1] %}{% macro m() %}{% break %}{% endmacro %}{% endfor %}"),
             Catch::Contains("'break' outside a for loop"));
  CHECK_THAT(error_of("{% for x in [] %}{% else %}{% break %}{% endfor %}"), Catch::Contains("'break' outside a for loop"));
  CHECK_THAT(error_of("{% macro m() %}{{ caller() }}{% endmacro %}{% for x in [1] %}{% call m() %}{% break %}"
                      "{% endcall %}{% endfor %}"),
             Catch::Contains("'break' outside a for loop"));
}

// Found by the chat-template fuzz target: printing a namespace that holds
// itself recursed until the stack overflowed. Values deeper than 256 levels
// (a cycle, or a million nested lists) are an error where they are walked.
TEST_CASE("values that contain themselves or nest too deep are an error, not a stack overflow") {
  CHECK_THAT(error_of("{% set ns = namespace(x=1) %}{% set ns.x = (ns, 1) %}{{ ns.x | string }}"),
             Catch::Contains("nested deeper than 256 levels"));
  CHECK_THAT(error_of("{% set a = [] %}{% set _ = a.append(a) %}{{ a | tojson }}"),
             Catch::Contains("nested deeper than 256 levels"));
  CHECK_THAT(error_of("{% set ns = namespace(a=[]) %}{% for i in range(100000) %}{% set ns.a = [ns.a] %}{% endfor %}"
                      "{{ ns.a }}"),
             Catch::Contains("nested deeper than 256 levels"));
  ordered_json deep = ordered_json::array();  // (nlohmann's own copy recurses too: keep it modest)
  for (int i = 0; i < 1000; ++i) deep = ordered_json::array({std::move(deep)});
  CHECK_THAT(error_of("{{ deep }}", {{"deep", deep}}),
             Catch::Contains("input 'deep'") && Catch::Contains("nested deeper than 256 levels"));
  // Cycles a render leaves behind are freed with it (the sanitizer suite's
  // LeakSanitizer fails this test otherwise; chat-template fuzz replay).
  CHECK(render("{% set ns = namespace(x=1) %}{% set ns.x = (ns, 1) %}{% set l = [] %}{% set _ = l.append(l) %}"
               "{% set _ = l.append(l.append) %}{% macro m() %}{{ ns.x[1] }}{% endmacro %}{% set ns.m = m %}"
               "{{ ns.m() }}") == "1");
  CHECK(render("{% set a = [[[1, 2], {'k': (3, 4)}]] %}{{ a | string }}|{{ a | tojson }}") ==
        "[[[1, 2], {'k': (3, 4)}]]|[[[1, 2], {\"k\": [3, 4]}]]");
}

TEST_CASE("set, namespaces, macros and call blocks") {
  CHECK(render("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}") == "1");
  CHECK(render("{% set ns = namespace(n=0) %}{% for i in [1, 2] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}") ==
        "3");
  CHECK(render("{% set a, b = [1, 2] %}{{ b }}{{ a }}") == "21");
  CHECK(render("{% set block %}in {{ 1 }}{% endset %}[{{ block }}]") == "[in 1]");
  CHECK(render("{% macro greet(name, punct='!') %}hi {{ name }}{{ punct }}{% endmacro %}"
               "{{ greet('bob') }} {{ greet('amy', punct='?') }}") == "hi bob! hi amy?");
  CHECK(render("{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}body{% endcall %}") == "<body>");
  CHECK(render("{% filter upper %}shout{% endfilter %}") == "SHOUT");
  CHECK(render("{% set l = [] %}{% set _ = l.append(1) %}{{ l | length }}{{ l.pop() }}{{ l | length }}") == "110");
}

TEST_CASE("filters") {
  CHECK(render("{{ '  pad  ' | trim }}|{{ 'ABC' | lower }}|{{ 'abc' | upper }}|{{ 'a-b' | replace('-', '+') }}") ==
        "pad|abc|ABC|a+b");
  CHECK(render("{{ ['a', 'b'] | join(', ') }}|{{ [3, 1, 2] | sort | list }}|{{ [1, 2] | first }}{{ [1, 2] | last }}") ==
        "a, b|123|12");
  CHECK(render("{{ x | default('d') }}|{{ '' | default('e', true) }}|{{ [1, 2, 3] | length }}|{{ 'abc' | count }}") ==
        "d|e|3|3");
  CHECK(render("{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}|{{ -3 | abs }}|{{ '12' | int + 1 }}") ==
        "Hello World|Hello|3|13");
  CHECK(render("{{ [{'a': 1}, {'a': 2}] | map(attribute='a') | join }}|"
               "{{ [{'t': 'x'}, {'t': 'y'}] | selectattr('t', 'equalto', 'y') | list | length }}|"
               "{{ [{'t': 0}, {'t': 1}] | rejectattr('t') | list | length }}") == "12|1|1");
  CHECK(render("{{ {'b': 1, 'a': 2} | dictsort | string }}|{{ [1, 5, 3] | max }}{{ [4, 2] | min }}") ==
        "{'a': 2, 'b': 1}|52");
  CHECK(render("{{ 'a\\nb' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}") == "a\n  b|  a\n  b");
  CHECK(render("{{ {'a': [1, 'x'], 'b': none} | tojson }}") == "{\"a\": [1, \"x\"], \"b\": null}");
  CHECK(render("{{ {'a': [1]} | tojson(indent=2) }}") == "{\n  \"a\": [\n    1\n  ]\n}");
  CHECK(render("{{ 'é\"' | tojson }}|{{ 'é' | tojson(ensure_ascii=true) }}|{{ 1.5 | tojson }}") ==
        "\"é\\\"\"|\"\\u00e9\"|1.5");
  CHECK(render("{{ [1, 2, 3, 4][1:3] | string }}|{{ 'hello'[::-1] }}|{{ [1, 2, 3][-1] }}|{{ 'abc'[1] }}") ==
        "[2, 3]|olleh|3|b");
}

TEST_CASE("tests and string methods") {
  CHECK(render("{{ x is defined }}{{ none is none }}{{ 'a' is string }}{{ 1 is number }}{{ {} is mapping }}"
               "{{ [] is iterable }}{{ 3 is odd }}{{ true is boolean }}{{ 1 is not string }}") ==
        "FalseTrueTrueTrueTrueTrueTrueTrueTrue");
  CHECK(render("{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('bc') }}|{{ ' x '.strip() }}|{{ 'xxa'.lstrip('x') }}|"
               "{{ 'a,b,c'.split(',') | length }}|{{ 'a b'.split() | join('+') }}|{{ 'a,b,c'.rsplit(',', 1) | first }}") ==
        "TrueTrue|x|a|3|a+b|a,b");
  CHECK(render("{{ '{} and {}'.format(1, 'x') }}|{{ 'hello'.find('l') }}|{{ 'hello'.count('l') }}|"
               "{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}") == "1 and x|2|2|HIhi");
  CHECK(render("{{ {'a': 1}.get('a') }}{{ {'a': 1}.get('b', 9) }}|{{ {'a': 1}.keys() | list | string }}|"
               "{{ {'a': 1}.values() | first }}") == "19|['a']|1");
}

TEST_CASE("globals the chat layer provides") {
  tessel::ChatTemplateOptions opt;
  opt.bos_token = "<B>";
  opt.eos_token = "<E>";
  const auto msgs = ordered_json::array({{{"role", "user"}, {"content", "q"}}});
  const std::string src = "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"
                          "{% if add_generation_prompt %}GEN{% endif %}{{ eos_token }}";
  CHECK(tessel::ChatTemplate(src).render(msgs, opt) == "qGEN<E>");  // leading BOS stripped
  opt.strip_eos = true;
  opt.add_generation_prompt = false;
  CHECK(tessel::ChatTemplate(src).render(msgs, opt) == "q");
  // A bare array and an OpenAI request body give the same prompt.
  CHECK(tessel::ChatTemplate(src).render(ordered_json{{"messages", msgs}}, opt) == "q");
  opt.now = 86400 * (365 + 180);
  CHECK(tessel::ChatTemplate("{{ strftime_now('%Y') }}").render(msgs, opt) == "1971");
}

TEST_CASE("a template without a system role gets the system text merged into the next message") {
  const std::string src = "{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}";
  const std::string user_only = "{% for m in messages %}{% if m.role == 'user' %}[{{ m.content }}]{% endif %}{% endfor %}";
  const auto msgs = ordered_json::array({{{"role", "system"}, {"content", "S"}}, {{"role", "user"}, {"content", "U"}}});
  tessel::ChatTemplateOptions opt;
  opt.add_generation_prompt = false;
  CHECK(tessel::ChatTemplate(src).render(msgs, opt) == "[system:S][user:U]");
  CHECK(tessel::ChatTemplate(user_only).caps().system_role == false);
  CHECK(tessel::ChatTemplate(user_only).render(msgs, opt) == "[S\nU]");
}

TEST_CASE("errors name the construct and the line") {
  CHECK_THAT(error_of("ok\n{% if x %}"), Catch::Contains("line 2") && Catch::Contains("if statement"));
  CHECK_THAT(error_of("{{ raise_exception('bad role') }}"), Catch::Contains("bad role") && Catch::Contains("line 1"));
  CHECK_THAT(error_of("\n\n{{ 'a' | nosuchfilter }}"), Catch::Contains("line 3") && Catch::Contains("nosuchfilter"));
  CHECK_THAT(error_of("{% frobnicate %}"), Catch::Contains("unknown statement 'frobnicate'"));
  CHECK_THAT(error_of("{{ 'unterminated }}"), Catch::Contains("unterminated string"));
  CHECK_THAT(error_of("{{ 1 + }}"), Catch::Contains("line 1"));
  CHECK_THAT(error_of("{{ " + std::string(2000, '(')), Catch::Contains("nested deeper"));
  CHECK_THAT(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"), Catch::Contains("nested deeper"));
  for (const std::string& e : {error_of("{{ 1 + }}"), error_of("{% for %}")})
    CHECK(e.find('\n') == std::string::npos);
}

TEST_CASE("messages are validated with the message named") {
  tessel::ChatTemplate t("{{ messages | length }}");
  CHECK_THROWS_WITH(t.render(ordered_json::array({{{"content", "x"}}})), Catch::Contains("messages[0]") && Catch::Contains("role"));
  CHECK_THROWS_WITH(t.render(ordered_json::array({1})), Catch::Contains("messages[0]"));
  CHECK_THROWS_WITH(t.render(ordered_json("text")), Catch::Contains("messages"));
}

TEST_CASE("the fuzz entry point survives hostile input") {
  const std::string inputs[] = {"{{", "{% for x in %}", "{{ 'a' * 100000000000 }}", "{% set x = [] %}{{ x.pop() }}",
                                std::string("{{ m }}\0[1,2", 12), "{{ range(100000000) | length }}",
                                "{{ (1, 2)[5] }}{{ 'abc'[-10:99:-3] }}", "{{ 1 % 0 }}"};
  for (const auto& in : inputs)
    CHECK(tessel::chat_template_fuzz_one(reinterpret_cast<const uint8_t*>(in.data()), in.size()) == 0);
}
