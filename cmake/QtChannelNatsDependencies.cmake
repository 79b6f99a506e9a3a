# What QtChannel::Nats needs besides the core: Qt Core and nats.c, as the imported target
# cnats::nats. Used by the build (top-level CMakeLists.txt) and installed beside
# QtChannelNatsTargets.cmake for find_package(QtChannel CONFIG COMPONENTS Nats).
#
# Debian 12's libnats-dev ships a CMake package (cnats-config.cmake) that refers to a static
# library the package does not install, so find_package(cnats CONFIG) stops with a fatal error,
# even with QUIET. The header and the shared library are found directly instead; a healthy
# cnats package found earlier (target cnats::nats) is used as it is.
#
# Sets QtChannelNats_DEPENDENCIES_FOUND, and QtChannelNats_DEPENDENCIES_MESSAGE when not found.
include(CMakeFindDependencyMacro)
find_dependency(Qt6 6.4 COMPONENTS Core)

if(NOT TARGET cnats::nats)
    find_path(QTCHANNEL_NATS_INCLUDE_DIR nats/nats.h DOC "nats.c's headers (Debian: libnats-dev)")
    find_library(QTCHANNEL_NATS_LIBRARY NAMES nats DOC "nats.c's library (Debian: libnats-dev)")
    if(QTCHANNEL_NATS_INCLUDE_DIR AND QTCHANNEL_NATS_LIBRARY)
        add_library(cnats::nats UNKNOWN IMPORTED)
        set_target_properties(cnats::nats PROPERTIES
            IMPORTED_LOCATION "${QTCHANNEL_NATS_LIBRARY}"
            INTERFACE_INCLUDE_DIRECTORIES "${QTCHANNEL_NATS_INCLUDE_DIR}")
    endif()
endif()

if(TARGET cnats::nats)
    set(QtChannelNats_DEPENDENCIES_FOUND TRUE)
else()
    set(QtChannelNats_DEPENDENCIES_FOUND FALSE)
    set(QtChannelNats_DEPENDENCIES_MESSAGE
        "nats.c was not found (Debian: apt-get install libnats-dev, or scripts/deps.sh nats)")
endif()
