# plughost: build, install and package, driving SwiftPM (docs/install.md).
#
#   make                        build (release)
#   make install PREFIX=~/.local   build, then install under PREFIX (DESTDIR honoured)
#   make uninstall PREFIX=…     remove what install put there
#   make test                   swift test
#   make dist                   plughost-VERSION-linux-ARCH.tar.gz of the installed tree
#
# Variables:
#   PREFIX=/usr/local  DESTDIR=  CONFIGURATION=release|debug
#   STATIC_STDLIB=yes  the executables link the Swift runtime statically (--static-swift-stdlib);
#                      no: they use the Swift runtime copied into lib/plughost/swift (any toolchain)
#   SWIFTPM_FLAGS=     extra flags for every swift build / swift package call (e.g. --ignore-lock)
#   NO_BUILD=1         install the Swift products as built before (no swift build in .build)
#
# What it needs beyond the Swift toolchain: cc, patchelf (sets RUNPATHs), ldd, install, tar.

SHELL := /bin/sh

PREFIX ?= /usr/local
DESTDIR ?=
CONFIGURATION ?= release
STATIC_STDLIB ?= yes
SWIFT ?= swift
SWIFTPM_FLAGS ?=
CC ?= cc
PATCHELF ?= patchelf
PLUGIN_CFLAGS ?= -std=c11 -O2 -Wall -Wextra -Wno-missing-field-initializers

# The one place plughost's version is written: PlugHostVersion.current.
VERSION := $(shell sed -n 's/^ *public static let current = "\(.*\)"$$/\1/p' Sources/PlugHost/Host/PlugHostVersion.swift)
ARCH := $(shell uname -m)

BUILD_DIR ?= .build/$(CONFIGURATION)
# What the Makefile itself builds: the C plugins, the man page, the completions.
STAGE ?= .build/make-$(CONFIGURATION)
# The Swift runtime of the toolchain: what libplughost_embed.so (and with STATIC_STDLIB=no the
# executables) needs at run time, copied into lib/plughost/swift.
SWIFTC := $(shell command -v swiftc 2>/dev/null)
SWIFT_RUNTIME_DIR ?= $(abspath $(dir $(realpath $(SWIFTC)))/../lib/swift/linux)

DEST := $(DESTDIR)$(PREFIX)
# prefix= of plughost.pc; the tarball's is relative to the .pc file, so it can be unpacked anywhere.
PC_PREFIX ?= $(PREFIX)
BINDIR := $(DEST)/bin
LIBDIR := $(DEST)/lib
LIBEXECDIR := $(DEST)/libexec/plughost
INCLUDEDIR := $(DEST)/include/plughost
PLUGINDIR := $(LIBDIR)/plughost/plugins
RUNTIMEDIR := $(LIBDIR)/plughost/swift
PKGCONFIGDIR := $(LIBDIR)/pkgconfig
MANDIR := $(DEST)/share/man/man1
BASHDIR := $(DEST)/share/bash-completion/completions
ZSHDIR := $(DEST)/share/zsh/site-functions
FISHDIR := $(DEST)/share/fish/vendor_completions.d

SWIFT_BUILD := $(SWIFT) build -c $(CONFIGURATION) $(SWIFTPM_FLAGS)

# --static-swift-stdlib on Swift 6.3 Linux: SwiftPM compiles the objects against the shared
# Foundation modules, whose autolink entries do not name Foundation's static dependencies
# (_FoundationICU, CoreFoundation, …), so the link misses swift_uenum_close and the like
# (swiftlang/swift-package-manager#10564). They are named here; a linker group resolves the order.
STATIC_LIBS := Foundation FoundationEssentials FoundationInternationalization CoreFoundation \
	_FoundationICU _FoundationCShims _FoundationCollections swiftDispatch dispatch BlocksRuntime swiftCore
STATIC_LINK_FLAGS := --static-swift-stdlib -Xlinker --start-group $(addprefix -Xlinker -l,$(STATIC_LIBS)) -Xlinker --end-group
# plughost also links FoundationNetworking (the MCP SDK of `bench mcp`): its static archive
# needs _CFURLSessionInterface and the system's libcurl (libcurl4 at run time).
STATIC_NETWORK_FLAGS := -Xlinker --start-group $(addprefix -Xlinker -l,FoundationNetworking _CFURLSessionInterface $(STATIC_LIBS)) \
	-Xlinker -l:libcurl.so.4 -Xlinker --end-group

PLUGINS := text sig

.PHONY: all build swift-products man plugins extras install uninstall test dist clean-stage version

all: build

version:
	@echo $(VERSION)

# NO_BUILD=1: the Swift products are taken as built (e.g. by `swift build`); the rest is made.
build: man plugins extras
ifeq ($(NO_BUILD),)
man extras: swift-products
endif

# Order matters: libplughost_embed.so first, with the shared Swift runtime (SwiftPM links the
# static one into executables only); then the executables, with the static runtime: a relink
# only, the objects are the same.
swift-products:
	@test -n "$(VERSION)" || { echo "no version in Sources/PlugHost/Host/PlugHostVersion.swift" >&2; exit 1; }
	$(SWIFT_BUILD) --product plughost_embed
	$(SWIFT_BUILD) $(if $(filter yes,$(STATIC_STDLIB)),$(STATIC_LINK_FLAGS)) --product plughost-worker
	$(SWIFT_BUILD) $(if $(filter yes,$(STATIC_STDLIB)),$(STATIC_LINK_FLAGS) $(STATIC_NETWORK_FLAGS)) --product plughost

# The man page: swift-argument-parser's manual generator, Tools/generate-manual of the checkout
# SwiftPM resolved, run on the built binary. This is what its GenerateManual package plugin
# (`swift package generate-manual`) runs, without the plugin's own build of the whole package
# (with parameters of its own, that rebuild every target) before it.
ARGUMENT_PARSER ?= .build/checkouts/swift-argument-parser
GENERATE_MANUAL := .build/tools/argument-parser/debug/generate-manual
man:
	$(SWIFT) build --package-path $(ARGUMENT_PARSER) --scratch-path .build/tools/argument-parser --product generate-manual
	mkdir -p $(STAGE)/man
	$(GENERATE_MANUAL) $(BUILD_DIR)/plughost --output-directory $(STAGE)/man

# The bundled plugins are plain C: built with cc, they need no Swift runtime (SwiftPM's
# libtext.so/libsig.so are linked by swiftc, which adds libswiftCore and a toolchain RUNPATH).
plugins:
	mkdir -p $(STAGE)/plugins
	for p in $(PLUGINS); do \
		$(CC) $(PLUGIN_CFLAGS) -shared -fPIC -Iinclude -o $(STAGE)/plugins/lib$$p.so Plugins/$$p/$$p.c || exit 1; \
	done

extras:
	@test -x $(BUILD_DIR)/plughost || { echo "no $(BUILD_DIR)/plughost: run make build" >&2; exit 1; }
	mkdir -p $(STAGE)/completions
	$(BUILD_DIR)/plughost --generate-completion-script bash > $(STAGE)/completions/plughost.bash
	$(BUILD_DIR)/plughost --generate-completion-script zsh > $(STAGE)/completions/_plughost
	$(BUILD_DIR)/plughost --generate-completion-script fish > $(STAGE)/completions/plughost.fish
	sed 's|@PREFIX@|$(PC_PREFIX)|; s|@VERSION@|$(VERSION)|' plughost.pc.in > $(STAGE)/plughost.pc

# libplughost_embed.so keeps the shared Swift runtime (SwiftPM links --static-swift-stdlib into
# executables only, and one process must not hold two Swift runtimes): the toolchain libraries it
# needs (ldd) are copied into lib/plughost/swift and patchelf points its RUNPATH there, not at
# the toolchain. With STATIC_STDLIB=no the executables do the same.
install: build
	@command -v $(PATCHELF) >/dev/null || { echo "make install needs patchelf (apt-get install patchelf)" >&2; exit 1; }
	@test -s $(STAGE)/man/plughost.1 || { echo "no man page in $(STAGE)/man: run make build" >&2; exit 1; }
	install -d $(BINDIR) $(LIBEXECDIR) $(INCLUDEDIR) $(PLUGINDIR) $(RUNTIMEDIR) $(PKGCONFIGDIR) \
		$(MANDIR) $(BASHDIR) $(ZSHDIR) $(FISHDIR)
	install -m 755 $(BUILD_DIR)/plughost $(BINDIR)/plughost
	install -m 755 $(BUILD_DIR)/plughost-worker $(LIBEXECDIR)/plughost-worker
	install -m 755 $(BUILD_DIR)/libplughost_embed.so $(LIBDIR)/libplughost_embed.so
	for p in $(PLUGINS); do install -m 755 $(STAGE)/plugins/lib$$p.so $(PLUGINDIR)/lib$$p.so || exit 1; done
	install -m 644 include/plughost/plughost.h include/plughost/embed.h $(INCLUDEDIR)/
	install -m 644 $(STAGE)/plughost.pc $(PKGCONFIGDIR)/plughost.pc
	install -m 644 $(STAGE)/man/plughost.1 $(MANDIR)/plughost.1
	install -m 644 $(STAGE)/completions/plughost.bash $(BASHDIR)/plughost
	install -m 644 $(STAGE)/completions/_plughost $(ZSHDIR)/_plughost
	install -m 644 $(STAGE)/completions/plughost.fish $(FISHDIR)/plughost.fish
	ldd $(LIBDIR)/libplughost_embed.so $(if $(filter yes,$(STATIC_STDLIB)),,$(BINDIR)/plughost $(LIBEXECDIR)/plughost-worker) \
		| awk 'index($$3, "$(SWIFT_RUNTIME_DIR)/") == 1 { print $$3 }' | sort -u \
		| while read -r lib; do install -m 644 "$$lib" $(RUNTIMEDIR)/ || exit 1; done
	@test -e $(RUNTIMEDIR)/libswiftCore.so || { echo "no Swift runtime from $(SWIFT_RUNTIME_DIR) in $(RUNTIMEDIR)" >&2; exit 1; }
	$(PATCHELF) --set-rpath '$$ORIGIN/plughost/swift' $(LIBDIR)/libplughost_embed.so
ifeq ($(STATIC_STDLIB),yes)
	$(PATCHELF) --remove-rpath $(BINDIR)/plughost
	$(PATCHELF) --remove-rpath $(LIBEXECDIR)/plughost-worker
else
	$(PATCHELF) --set-rpath '$$ORIGIN/../lib/plughost/swift' $(BINDIR)/plughost
	$(PATCHELF) --set-rpath '$$ORIGIN/../../lib/plughost/swift' $(LIBEXECDIR)/plughost-worker
endif
	@echo "installed plughost $(VERSION) in $(DEST)"

uninstall:
	rm -f $(BINDIR)/plughost $(LIBEXECDIR)/plughost-worker $(LIBDIR)/libplughost_embed.so \
		$(INCLUDEDIR)/plughost.h $(INCLUDEDIR)/embed.h $(PKGCONFIGDIR)/plughost.pc $(MANDIR)/plughost.1 \
		$(BASHDIR)/plughost $(ZSHDIR)/_plughost $(FISHDIR)/plughost.fish
	rm -rf $(LIBDIR)/plughost
	rmdir $(LIBEXECDIR) $(INCLUDEDIR) 2>/dev/null || true

test:
	$(SWIFT) test $(SWIFTPM_FLAGS)

# The installed tree under one folder, plughost-VERSION-linux-ARCH/, as a tarball: unpack it
# anywhere (the binary finds its plugins, worker and runtime relative to itself).
DIST_NAME := plughost-$(VERSION)-linux-$(ARCH)
dist:
	rm -rf .build/dist
	$(MAKE) install DESTDIR= PREFIX=$(CURDIR)/.build/dist/$(DIST_NAME) PC_PREFIX='$$$${pcfiledir}/../..'
	tar -C .build/dist -czf $(DIST_NAME).tar.gz $(DIST_NAME)
	@echo "$(DIST_NAME).tar.gz"

clean-stage:
	rm -rf $(STAGE) .build/dist
