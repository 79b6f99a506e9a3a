# Small helpers shared by every kind of QtChannel target.

# Strict Qt definitions and warnings for the project's own code.
function(qtchannel_set_strict target)
    target_compile_definitions(${target} PRIVATE
        QT_NO_KEYWORDS
        QT_NO_CAST_FROM_ASCII
        QT_NO_CAST_TO_ASCII
        QT_NO_FOREACH
        QT_NO_NARROWING_CONVERSIONS_IN_CONNECT
        QT_NO_URL_CAST_FROM_STRING
        QT_USE_QSTRINGBUILDER)
    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
        target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
            -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual)
        if(QTCHANNEL_WARNINGS_AS_ERRORS)
            target_compile_options(${target} PRIVATE -Werror)
        endif()
    endif()
endfunction()

# Applies QTCHANNEL_SANITIZE to a target (compile and link).
function(qtchannel_sanitize target)
    if(QTCHANNEL_SANITIZE)
        target_compile_options(${target} PRIVATE -fsanitize=${QTCHANNEL_SANITIZE}
            -fno-omit-frame-pointer -fno-sanitize-recover=all)
        target_link_options(${target} PRIVATE -fsanitize=${QTCHANNEL_SANITIZE})
    endif()
endfunction()

# The environment every test runs with: sanitizer options and the offscreen platform.
function(qtchannel_test_environment test)
    set(env "QT_QPA_PLATFORM=offscreen" "QT_FORCE_STDERR_LOGGING=1")
    if(QTCHANNEL_SANITIZE MATCHES "thread")
        list(APPEND env
            "TSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1")
    endif()
    if(QTCHANNEL_SANITIZE MATCHES "address")
        list(APPEND env "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1"
            "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp")
    endif()
    if(QTCHANNEL_SANITIZE MATCHES "undefined")
        list(APPEND env "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
    endif()
    set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT ${env})
endfunction()

# qtchannel_add_test(<name> SOURCES ... [LIBRARIES ...] [LABELS ...] [ARGS ...] [TIMEOUT s])
# One QtTest executable, registered with CTest under the same name.
function(qtchannel_add_test name)
    cmake_parse_arguments(arg "" "TIMEOUT" "SOURCES;LIBRARIES;LABELS;ARGS" ${ARGN})
    find_package(Qt6 6.4 REQUIRED COMPONENTS Test)
    add_executable(${name} ${arg_SOURCES})
    target_link_libraries(${name} PRIVATE QtChannel::QtChannel Qt6::Test ${arg_LIBRARIES})
    qtchannel_set_strict(${name})
    qtchannel_sanitize(${name})
    add_test(NAME ${name} COMMAND ${name} ${arg_ARGS})
    if(NOT arg_TIMEOUT)
        set(arg_TIMEOUT 300)
    endif()
    set_tests_properties(${name} PROPERTIES TIMEOUT ${arg_TIMEOUT})
    if(arg_LABELS)
        set_tests_properties(${name} PROPERTIES LABELS "${arg_LABELS}")
    endif()
    qtchannel_test_environment(${name})
endfunction()
