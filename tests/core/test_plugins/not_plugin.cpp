// A shared library named like a plugin but exporting no descriptor.
extern "C" int tessel_unrelated_function() { return 42; }
