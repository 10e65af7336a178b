# Run at build time (cmake -P) with the built host: writes a man page per
# subcommand from its --help text (OUT/man1/tessel-SUB.1, plus tessel.1) and
# the bash and zsh completion scripts (OUT/completions/tessel, _tessel), so
# the installed documentation always says what this build's flags are.
#   -DTESSEL=<path to tessel> -DOUT=<folder> -DVERSION=<x.y.z>
if(NOT TESSEL OR NOT OUT)
  message(FATAL_ERROR "GenerateDocs.cmake needs -DTESSEL=... -DOUT=...")
endif()
file(MAKE_DIRECTORY ${OUT}/man1 ${OUT}/completions)

# roff needs backslashes doubled and lines starting with . or ' protected.
function(to_roff text out_var)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

function(write_page name summary help)
  to_roff("${help}" body)
  string(TOUPPER "${name}" upper)
  file(WRITE ${OUT}/man1/${name}.1
    ".TH ${upper} 1 \"\" \"tessel ${VERSION}\" \"tessel manual\"\n"
    ".SH NAME\n${name} \\- ${summary}\n"
    ".SH DESCRIPTION\n.nf\n${body}\n.fi\n"
    ".SH SEE ALSO\ntessel(1)\n")
endfunction()

execute_process(COMMAND ${TESSEL} --help OUTPUT_VARIABLE top RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TESSEL} --help failed (${rc})")
endif()
write_page(tessel "modular runtime for GGUF language models on the CPU" "${top}")

# The Subcommands: section of the top-level help: "  name   summary" lines.
string(FIND "${top}" "Subcommands:" at)
if(at LESS 0)
  message(FATAL_ERROR "no 'Subcommands:' section in `tessel --help`")
endif()
string(SUBSTRING "${top}" ${at} -1 subs)
string(REPLACE "\n" ";" lines "${subs}")
set(count 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^  ([a-z][a-z0-9-]*)[ ]+(.*)$")
    set(sub ${CMAKE_MATCH_1})
    set(summary "${CMAKE_MATCH_2}")
    execute_process(COMMAND ${TESSEL} ${sub} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${TESSEL} ${sub} --help failed (${rc})")
    endif()
    write_page(tessel-${sub} "${summary}" "${help}")
    math(EXPR count "${count} + 1")
  endif()
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "no subcommands found in `tessel --help`")
endif()

execute_process(COMMAND ${TESSEL} completion bash OUTPUT_FILE ${OUT}/completions/tessel RESULT_VARIABLE rc1)
execute_process(COMMAND ${TESSEL} completion zsh OUTPUT_FILE ${OUT}/completions/_tessel RESULT_VARIABLE rc2)
if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0)
  message(FATAL_ERROR "tessel completion failed")
endif()
