# Fails when an object built for a wider ISA (simd_dots_avx2 / _avx512)
# defines a weak symbol: an inline function or template instantiation the
# linker may pick over the baseline copy, running AVX-512 code on CPUs
# without it. Called with -DNM=<nm> -DOBJECTS=<list of object files>.
set(checked 0)
foreach(obj IN LISTS OBJECTS)
  if(NOT obj MATCHES "simd_dots_avx(2|512)\\.cpp\\.o$")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  execute_process(COMMAND ${NM} -C ${obj} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${obj}")
  endif()
  string(REGEX MATCHALL "[^\n]* [VWu] [^\n]*" weak "${syms}")
  list(FILTER weak EXCLUDE REGEX "DW\\.ref\\.__gxx_personality_v0")
  # UBSan's function-type checks emit typeinfo objects for function types:
  # constant data, identical in every object, never code.
  list(FILTER weak EXCLUDE REGEX " V typeinfo (name )?for ")
  if(weak)
    string(REPLACE ";" "\n" weak "${weak}")
    message(FATAL_ERROR "${obj} defines weak symbols:\n${weak}")
  endif()
endforeach()
if(NOT checked EQUAL 2)
  message(FATAL_ERROR "expected the two per-ISA objects, found ${checked} in: ${OBJECTS}")
endif()
message(STATUS "per-ISA objects define no weak symbols")
